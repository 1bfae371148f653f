"""The reproducibility dashboard: index.json and a static index.html.

One row per (package, version, target). Each row keeps every builder's
verdict ("rebuilds"); "reproduced_by" lists the builders whose image hash
equals the row's published hash. Rows come from builder result documents
(builder.pipeline.TargetResult.to_json()) plus, from the publish gate, the
author-signed hash and the gate decision. "rebuilders" is what the published
attestations say about the published image (which rebuilders confirmed it,
which disagreed), as the caller verified them through the repository
(`apply_attestations`); the "reproduced by" column shows it.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from builder.status import BuildStatus
from fsio import atomic_write
from reports.errors import ReportError

INDEX_JSON = "index.json"
INDEX_HTML = "index.html"
DASHBOARD_VERSION = 1


def load_rows(directory: Path) -> list[dict[str, Any]]:
    path = directory / INDEX_JSON
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text())
        rows = document["rows"]
    except (ValueError, KeyError, TypeError) as error:
        raise ReportError(f"{path}: not a dashboard index ({error})") from None
    if not isinstance(rows, list):
        raise ReportError(f"{path}: 'rows' is not a list")
    return rows


def row_from_result(
    result: Mapping[str, Any],
    directory: Path,
    *,
    author_sha256: str | None = None,
    decision: str | None = None,
) -> dict[str, Any]:
    """A dashboard row for one builder result (paths made relative to the dashboard)."""

    def rel(path: str | None) -> str | None:
        return os.path.relpath(path, directory) if path else None

    rebuild = {
        "builder_id": result["builder_id"],
        "status": result["status"],
        "sha256": result["sha256_a"] if result["status"] != BuildStatus.FAILED else None,
        "sha256_b": result["sha256_b"],
        "finished": result["finished"],
        "cached": result["cached"],
    }
    return {
        "package": result["package"],
        "version": result["version"],
        "target": result["target"],
        "status": result["status"],
        "reason": result["reason"],
        "sha256": result["sha256"],
        "sha256_a": result["sha256_a"],
        "sha256_b": result["sha256_b"],
        "author_sha256": author_sha256,
        "decision": decision,
        "size": result["size"],
        "seconds": result["seconds"],
        "build_seconds": result["build_seconds"],
        "blame_seconds": result["blame_seconds"],
        "variations": result["variations"],
        "culprits": result["culprits"],
        "finished": result["finished"],
        "diffoscope": {fmt: rel(path) for fmt, path in result["diffoscope"].items()},
        "buildinfo": rel(os.path.join(result["out_dir"], "buildinfo.json")),
        "link": rel(result.get("link")),
        "provenance": rel(result.get("provenance")),
        "rebuilds": [rebuild],
    }


FARM_BUILDER = "farm"  # the builder id of farm rows: one verdict, whichever workers built


def _farm_build(build: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "worker": build["worker"],
        "attempts": build["attempts"],
        "status": build["status"],
        "sha256": build["sha256"],
        "queue_seconds": build.get("queue_seconds"),
        "build_seconds": build.get("seconds"),
    }


def row_from_farm(
    package: str,
    version: str,
    target: str,
    builds: Iterable[Mapping[str, Any]],
    directory: Path,
    *,
    target_dir: Path,
    variations: Iterable[Mapping[str, str]],
    author_sha256: str | None,
    decision: str,
    blame: Mapping[str, Any] | None = None,
    finished: str = "",
) -> dict[str, Any]:
    """A dashboard row for build A and build B of one target on farm workers.

    `builds` are the build records of `repo-tool build --broker --json`; the row
    names the worker of each build, its wait in the queue and its build time.
    """
    by_label = {b["build"]: b for b in builds if b["target"] == target}
    a, b = by_label.get("a"), by_label.get("b")
    sha_a = a["sha256"] if a else None
    sha_b = b["sha256"] if b else None
    unbuilt = [
        (label, x) for label, x in (("A", a), ("B", b))
        if x is None or x["status"] != BuildStatus.BUILT
    ]
    if unbuilt:
        label, x = unbuilt[0]
        status = BuildStatus.FAILED
        reason = f"build {label}: {x['reason'] if x else 'no result'}"
    elif a is not None and b is not None and sha_a != sha_b:
        status = BuildStatus.UNREPRODUCIBLE
        reason = f"build A ({a['worker']}) and build B ({b['worker']}) differ"
    else:
        status, reason = BuildStatus.REPRODUCIBLE, "both builds are bit-for-bit identical"
    culprits = list(blame["culprits"]) if blame else []
    if culprits:
        reason += f"; blamed on: {', '.join(culprits)}"

    def rel(name: str) -> str | None:
        path = target_dir / name
        return os.path.relpath(path, directory) if path.is_file() else None

    sha256 = sha_a if status == BuildStatus.REPRODUCIBLE else None
    times = [x.get("seconds") if x else None for x in (a, b)]
    return {
        "package": package,
        "version": version,
        "target": target,
        "status": status,
        "reason": reason,
        "sha256": sha256,
        "sha256_a": sha_a,
        "sha256_b": sha_b,
        "author_sha256": author_sha256,
        "decision": decision,
        "size": None,
        "seconds": round(sum(t or 0.0 for t in times), 3),
        "build_seconds": times,
        "blame_seconds": blame["seconds"] if blame else None,
        "variations": [dict(v) for v in variations],
        "culprits": culprits,
        "finished": finished,
        "diffoscope": {
            fmt: os.path.relpath(path, directory)
            for fmt, path in (blame["diffoscope"] if blame else {}).items()
        },
        "buildinfo": rel("a.buildinfo.json"),
        "link": None,
        "provenance": rel("a.provenance.dsse.json"),
        "farm": {label: _farm_build(x) for label, x in by_label.items()},
        "rebuilds": [
            {
                "builder_id": FARM_BUILDER,
                "status": status,
                "sha256": sha_a if status != BuildStatus.FAILED else None,
                "sha256_b": sha_b,
                "finished": finished,
                "cached": False,
            }
        ],
    }


def _farm_cell(row: Mapping[str, Any]) -> str:
    farm = row.get("farm")
    if not farm:
        return _cell("")

    def seconds(value: float | None) -> str:
        return "?" if value is None else f"{value:.1f} s"

    parts = [
        f"{label.upper()} {b['worker']}" for label, b in sorted(farm.items())
    ]
    details = "\n".join(
        f"{label.upper()} on {b['worker']}: queued {seconds(b['queue_seconds'])}, "
        f"built in {seconds(b['build_seconds'])}, {b['attempts']} send(s)"
        for label, b in sorted(farm.items())
    )
    return _cell(", ".join(parts), details)


def merge_rows(
    old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """New rows replace old ones for the same key, keeping other builders' verdicts."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in old:
        merged[(row["package"], row["version"], row["target"])] = row
    for row in new:
        key = (row["package"], row["version"], row["target"])
        previous = merged.get(key)
        if previous is not None:
            mine = {r["builder_id"] for r in row["rebuilds"]}
            row = dict(row)
            row["rebuilds"] = [
                r for r in previous["rebuilds"] if r["builder_id"] not in mine
            ] + row["rebuilds"]
            if row.get("author_sha256") is None:
                row["author_sha256"] = previous.get("author_sha256")
                row["decision"] = previous.get("decision")
            if "rebuilders" not in row and "rebuilders" in previous:
                row["rebuilders"] = previous["rebuilders"]  # a release's image never changes
        merged[key] = row
    rows = [merged[key] for key in sorted(merged)]
    for row in rows:
        row["reproduced_by"] = sorted(
            r["builder_id"]
            for r in row["rebuilds"]
            if row["sha256"]
            and r["status"] == BuildStatus.REPRODUCIBLE
            and r["sha256"] == row["sha256"]
        )
    return rows


def apply_attestations(
    rows: Iterable[dict[str, Any]], images: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rows with "rebuilders" set from IMAGES: one record per published image (package,
    version, target, sha256, confirmed_by, disagreed), judged by the operator's rule on
    attestations the caller verified through the repository. Rows of images without a
    record lose it (e.g. a rebuilder removed since)."""
    by_key = {(i["package"], i["version"], i["target"]): i for i in images}
    result = []
    for row in rows:
        row = {k: v for k, v in row.items() if k != "rebuilders"}
        image = by_key.get((row["package"], row["version"], row["target"]))
        if image is not None:
            row["rebuilders"] = {
                "sha256": image["sha256"],
                "confirmed_by": sorted(image["confirmed_by"]),
                "disagreed": sorted(image["disagreed"]),
            }
        result.append(row)
    return result


def _rebuilders_cell(row: Mapping[str, Any]) -> str:
    """"reproduced by": the rebuilders whose published attestation confirms the image."""
    attested = row.get("rebuilders")
    builders = ", ".join(row["reproduced_by"]) or "none"
    if not attested:
        return _cell("", f"no published attestations; double builds matching: {builders}")
    text = ", ".join(attested["confirmed_by"])
    if attested["disagreed"]:
        text += f"{'; ' if text else ''}disagreed: {', '.join(attested['disagreed'])}"
    title = (f"published attestations about sha256 {attested['sha256']}: confirmed by "
             f"{', '.join(attested['confirmed_by']) or 'nobody'}; disagreed: "
             f"{', '.join(attested['disagreed']) or 'nobody'}; double builds matching: "
             f"{builders}")
    return _cell(text, title, "disagreed" if attested["disagreed"] else None)


def _cell(text: object, title: str | None = None, css: str | None = None) -> str:
    attributes = ""
    if title:
        attributes += f' title="{html.escape(title)}"'
    if css:
        attributes += f' class="{css}"'
    return f"<td{attributes}>{html.escape(str(text))}</td>"


def _link(href: str | None, label: str) -> str:
    if not href:
        return ""
    return f'<a href="{html.escape(href)}">{html.escape(label)}</a>'


def render_html(rows: list[dict[str, Any]]) -> str:
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in BuildStatus}
    body = []
    for row in rows:
        digest = row["sha256"] or row["sha256_a"] or ""
        variations = ", ".join(v["name"] for v in row["variations"])
        how = "\n".join(f"{v['name']}: {v['how']}" for v in row["variations"])
        links = " ".join(
            part
            for part in (
                _link(row["diffoscope"].get("html"), "diffoscope"),
                _link(row["diffoscope"].get("text"), "txt"),
                _link(row["diffoscope"].get("json"), "json"),
                _link(row["buildinfo"], "buildinfo"),
                _link(row["link"], "in-toto"),
                _link(row["provenance"], "SLSA"),
            )
            if part
        )
        author = row.get("author_sha256")
        author_text = (
            "" if author is None else ("= built" if author == row["sha256"] else "differs")
        )
        body.append(
            "<tr>"
            + _cell(row["package"])
            + _cell(row["version"])
            + _cell(row["target"])
            + _cell(row["status"], row["reason"], row["status"])
            + _cell(digest[:16], f"A {row['sha256_a']}\nB {row['sha256_b']}", "hash")
            + _cell(author_text, author or None)
            + _cell(row["decision"] or "")
            + _cell("" if row["size"] is None else f"{row['size']:,}")
            + _cell(
                f"{row['seconds']:.2f}",
                f"A {row['build_seconds'][0]} s, B {row['build_seconds'][1]} s"
                + ("" if row["blame_seconds"] is None else f", blame {row['blame_seconds']} s"),
            )
            + _farm_cell(row)
            + _cell(f"{len(row['variations'])}", how or variations)
            + _cell(", ".join(row["culprits"]))
            + _rebuilders_cell(row)
            + f"<td>{links}</td>"
            + "</tr>"
        )
    header = "".join(
        f"<th>{name}</th>"
        for name in (
            "package",
            "version",
            "target",
            "status",
            "sha256",
            "author hash",
            "decision",
            "size (bytes)",
            "time (s)",
            "built on",
            "variations",
            "blamed on",
            "reproduced by",
            "reports",
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reproducibility dashboard</title>
<style>
body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.25em .5em;text-align:left}}
.reproducible{{background:#d9f2d9}} .unreproducible{{background:#f8d7da}}
.failed{{background:#fff3cd}} .disagreed{{background:#f8d7da}}
.hash{{font-family:monospace}}
</style></head><body>
<h1>Reproducibility dashboard</h1>
<p>{counts[BuildStatus.REPRODUCIBLE]} reproducible,
{counts[BuildStatus.UNREPRODUCIBLE]} unreproducible, {counts[BuildStatus.FAILED]} failed.
Hover a cell for details (full hashes, variation mechanisms,
reasons).</p>
<table><thead><tr>{header}</tr></thead><tbody>
{"".join(body)}
</tbody></table></body></html>
"""


def update_dashboard(directory: Path, new_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge new rows into directory/index.json and re-render index.html."""
    return _write(directory, merge_rows(load_rows(directory), new_rows))


def update_attestations(
    directory: Path, images: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Set every row's "rebuilders" from IMAGES (`apply_attestations`) and re-render."""
    return _write(directory, apply_attestations(load_rows(directory), images))


def _write(directory: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    document = {"dashboard_version": DASHBOARD_VERSION, "rows": rows}
    atomic_write(
        directory / INDEX_JSON, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    )
    atomic_write(directory / INDEX_HTML, render_html(rows).encode())
    return rows
