"""Farm rows of the dashboard: who built A and B, how long each waited and built, blame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reports.dashboard import load_rows, render_html, row_from_farm, update_dashboard

IMAGE, OTHER = "a" * 64, "b" * 64
VARIATIONS = [{"name": "build_path", "how": "/build -> /build/x"}]


def build(label: str, worker: str, sha256: str | None, status: str = "built") -> dict[str, Any]:
    return {"target": "hvt", "build": label, "worker": worker, "attempts": 1, "status": status,
            "sha256": sha256, "reason": f"build {label.upper()} produced the image",
            "queue_seconds": 0.25, "seconds": 3.5}


def row(tmp_path: Path, builds: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    target_dir = tmp_path / "builds" / "hello" / "1.0.0" / "hvt"
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / "a.buildinfo.json").write_text("{}")
    return row_from_farm("hello", "1.0.0", "hvt", builds, tmp_path / "dashboard",
                         target_dir=target_dir, variations=VARIATIONS, author_sha256=IMAGE,
                         decision=extra.pop("decision", "published"), finished="now", **extra)


def test_a_reproduced_farm_build_names_both_workers_and_their_times(tmp_path: Path) -> None:
    got = row(tmp_path, [build("a", "w1", IMAGE), build("b", "w2", IMAGE)])
    assert got["status"] == "reproducible" and got["sha256"] == IMAGE
    assert got["farm"] == {
        "a": {"worker": "w1", "attempts": 1, "status": "built", "sha256": IMAGE,
              "queue_seconds": 0.25, "build_seconds": 3.5},
        "b": {"worker": "w2", "attempts": 1, "status": "built", "sha256": IMAGE,
              "queue_seconds": 0.25, "build_seconds": 3.5},
    }
    assert got["build_seconds"] == [3.5, 3.5]
    assert got["buildinfo"] == "../builds/hello/1.0.0/hvt/a.buildinfo.json"
    assert got["provenance"] is None  # not written: no link to a missing file
    rows = update_dashboard(tmp_path / "dashboard", [got])
    assert rows[0]["reproduced_by"] == ["farm"]
    html = render_html(load_rows(tmp_path / "dashboard"))
    assert "<th>built on</th>" in html
    assert "A on w1: queued 0.2 s, built in 3.5 s, 1 send(s)" in html
    assert ">A w1, B w2<" in html


def test_differing_builds_carry_the_blame_and_the_diffoscope_report(tmp_path: Path) -> None:
    report = tmp_path / "builds" / "hello" / "1.0.0" / "hvt" / "hello.diffoscope.html"
    blame = {"culprits": ["build_path"], "seconds": 12.0, "diffoscope": {"html": str(report)}}
    got = row(tmp_path, [build("a", "w1", IMAGE), build("b", "w2", OTHER)], blame=blame,
              decision="rejected")
    assert got["status"] == "unreproducible" and got["sha256"] is None
    assert got["reason"] == "build A (w1) and build B (w2) differ; blamed on: build_path"
    assert got["culprits"] == ["build_path"] and got["blame_seconds"] == 12.0
    assert got["diffoscope"] == {"html": "../builds/hello/1.0.0/hvt/hello.diffoscope.html"}
    html = render_html([{**got, "reproduced_by": []}])
    assert 'href="../builds/hello/1.0.0/hvt/hello.diffoscope.html"' in html


def test_a_build_without_a_result_makes_the_row_failed(tmp_path: Path) -> None:
    failed = build("b", "w2", None, status="failed")
    failed["reason"] = "build B failed: resource limit: wall-clock time (1 s)"
    got = row(tmp_path, [build("a", "w1", IMAGE), failed], decision="rejected")
    assert got["status"] == "failed"
    assert got["reason"] == "build B: build B failed: resource limit: wall-clock time (1 s)"
    assert row(tmp_path, [build("a", "w1", IMAGE)], decision="rejected")["reason"] == (
        "build B: no result"
    )


def test_in_process_rows_show_no_farm_cell(tmp_path: Path) -> None:
    got = row(tmp_path, [build("a", "w1", IMAGE), build("b", "w2", IMAGE)])
    del got["farm"]
    html = render_html([{**got, "reproduced_by": []}])
    assert "w1" not in html and "queued" not in html
