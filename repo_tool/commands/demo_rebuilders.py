"""`repo-tool demo`, the rebuilders step: independent confirmation of hello, and a liar.

After hello is published and served, the maintainers' quorum delegates three rebuilders
(`rebuilder add` + `sign`). Two of them run `repo-tool rebuild` against the served
repository (inputs through the verifying client, double builds in the sandbox under
their own build path and user) and publish their signed attestations: alice right away
(`rebuild --submit`), bob the way a remote rebuilder does (`rebuild --out`, then
`rebuilder submit` on the repository host). The operator's `fetch --require-rebuilders 2`
then accepts hello. The third, mallory, rebuilds nothing: it copies alice's published
statement, swaps in the sha256 of an image that differs in one byte, signs that with its
own key and publishes it through `rebuilder submit`; the same fetch is refused naming
mallory, and `--allow-disagreement` accepts while still saying who disagreed. The
dashboard's "reproduced by" shows the same, from the published attestations.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from builder.rebuild import attestation_bytes, rebuilder_conditions
from builder.verdict import read_verdict, sign_verdict
from repo_tool.demo import FETCHED_PACKAGE, MAINTAINER_THRESHOLD, DemoError, short
from signing.attestations import builder_uri
from signing.keys import INSECURE, load_signer
from tuf_metadata import layout
from tuf_metadata.repo_paths import repository_paths

if TYPE_CHECKING:
    from repo_tool.commands.demo import Demo

HONEST_REBUILDERS = ("alice", "bob")  # alice submits with --submit, bob as a remote rebuilder
LYING_REBUILDER = "mallory"
REQUIRED = len(HONEST_REBUILDERS)
ATTESTED_TARGET = "hvt"  # the image the operator fetches (fetch's default target)
REBUILD_TIMEOUT = 1800.0  # seconds: three targets built twice on a shared machine


def _key(name: str) -> str:
    return f"keys/insecure-demo-rebuilder-{name}.key"


def _pub(name: str) -> str:
    return f"keys/insecure-demo-rebuilder-{name}.pub.json"


def delegate(demo: Demo, name: str) -> None:
    """`rebuilder add` proposed, then signed by the maintainers' quorum (t of n)."""
    change = demo.repo_tool_json("rebuilder", "add", name, "--repo", "repo", "--pubkey",
                                 _pub(name))
    maintainers = [f"maintainer-{i}" for i in range(1, MAINTAINER_THRESHOLD + 1)]
    for count, maintainer in enumerate(maintainers, 1):
        signed = demo.repo_tool_json("sign", change["id"], "--repo", "repo", "--key",
                                     demo.key(maintainer), "--insecure-plaintext")
        if bool(signed.get("committed")) != (count == MAINTAINER_THRESHOLD):
            raise DemoError(f"delegating rebuilder {name}: {count} maintainer signatures "
                            f"{'committed' if signed.get('committed') else 'did not commit'}")


def rebuild(demo: Demo, name: str, submit: bool) -> dict[str, Any]:
    """`repo-tool rebuild --package hello` as rebuilder NAME against the served repository."""
    args = ["rebuild", "--repo-url", demo.url, "--root", "operator/root.json", "--key",
            _key(name), "--insecure-plaintext", "--name", name, "--package", FETCHED_PACKAGE,
            "--out", f"rebuilders/{name}", "--json"]
    if submit:
        args += ["--submit", "repo"]
    result = demo.run([*demo.tool, *args], show=shlex.join(["repo-tool", *args]), check=False,
                      timeout=REBUILD_TIMEOUT)
    if result.returncode not in (0, 3):  # 3: an image not confirmed, reported below
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise DemoError(f"`repo-tool rebuild` as {name} failed (exit {result.returncode}): "
                        f"{lines[-1]}")
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def record_rebuild(demo: Demo, name: str, summary: dict[str, Any], how: str) -> list[str]:
    """The check for one rebuilder's run; the attestation files it wrote."""
    targets = [(r["version"], t) for r in summary["releases"] for t in r["targets"]]
    errors = [r["error"] for r in summary["releases"] if r["error"]]
    wrong = [f"{v} {t['target']}: {t['outcome']}" for v, t in targets
             if t["outcome"] != "confirmed"]
    what = f"rebuilder {name} rebuilds {FETCHED_PACKAGE} from the served repository"
    if errors or wrong or not targets:
        demo.check(what, "failed", "; ".join([*errors, *wrong]) or "no image was rebuilt")
        return []
    # Where build A ran, from the rebuild's own build info (the builder's is /build, uid 1000).
    info = json.loads((demo.workdir / targets[0][1]["reports"] / "buildinfo.json")
                      .read_text())
    control = info["builds"][0]
    images = ", ".join(f"{t['target']} {short(t['sha256'])}" for _, t in targets)
    toolchains = ", ".join(sorted({t["toolchain"] for _, t in targets}))
    demo.check(what, "ok",
               f"{len(targets)} images confirmed ({images}; toolchain {toolchains}); build A "
               f"at {control['build_path']} as uid {control['uid']}; {how}")
    return [str(t["attestation"]) for _, t in targets]


def fetch_required(demo: Demo, out: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`fetch hello --require-rebuilders 2` (the command result; JSON on stdout if accepted)."""
    args = ["fetch", FETCHED_PACKAGE, "--target", ATTESTED_TARGET, "--url", demo.url,
            "--root", "operator/root.json", "-o", out, "--metadata-dir", "operator/tuf",
            "--require-rebuilders", str(REQUIRED), *extra, "--json"]
    return demo.repo_tool(*args, check=False)


def lie(demo: Demo, honest_attestation: Path, image: Path) -> tuple[Path, str, str]:
    """Mallory's attestation: alice's statement with the sha256 of an image that differs in
    one byte, signed by mallory's key. (file written, the lie, the real sha256)"""
    envelope = json.loads(honest_attestation.read_bytes())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    real = statement["subject"][0]["digest"]["sha256"]
    tampered = bytearray(image.read_bytes())
    tampered[-1] ^= 0xFF
    claimed = hashlib.sha256(bytes(tampered)).hexdigest()
    statement["subject"][0]["digest"]["sha256"] = claimed
    statement["predicate"]["runDetails"]["builder"]["id"] = builder_uri(
        layout.rebuilder_role(LYING_REBUILDER))
    verdict = read_verdict(statement)  # still a well-formed verdict, now a false one
    signed = sign_verdict(statement, load_signer(demo.workdir / _key(LYING_REBUILDER),
                                                 INSECURE))
    path = Path("rebuilders") / LYING_REBUILDER / layout.attestation_path(
        verdict.package, verdict.version, verdict.target, LYING_REBUILDER)
    (demo.workdir / path).parent.mkdir(parents=True, exist_ok=True)
    (demo.workdir / path).write_bytes(attestation_bytes(signed))
    return path, claimed, real


def step_rebuilders(demo: Demo) -> None:
    names = [*HONEST_REBUILDERS, LYING_REBUILDER]
    for name in names:
        demo.repo_tool("key", "generate", _key(name), "--insecure-plaintext")
        delegate(demo, name)
    demo.check("rebuilders delegated by the maintainers' quorum", "ok",
               f"{', '.join(names)}: rebuilder add, committed by {MAINTAINER_THRESHOLD} "
               "maintainer signatures (one alone changed nothing)")
    for name in HONEST_REBUILDERS:
        conditions = rebuilder_conditions(name)
        demo.console.print(f"rebuilder {name}: build A at {conditions.build_root}/... as "
                           f"{conditions.user} (uid {conditions.uid})")
    alice, bob = HONEST_REBUILDERS
    alice_files = record_rebuild(demo, alice, rebuild(demo, alice, submit=True),
                                 "published with rebuild --submit")
    bob_files = record_rebuild(demo, bob, rebuild(demo, bob, submit=False),
                               "handed over and published with rebuilder submit")
    if bob_files:
        demo.repo_tool("rebuilder", "submit", bob, "--repo", "repo", "--key", _key(bob),
                       "--insecure-plaintext", *bob_files)
    demo.console.print(demo.repo_tool("rebuilder", "list", "--repo", "repo").stdout.strip(),
                       highlight=False)
    what = f"fetch {FETCHED_PACKAGE}.{ATTESTED_TARGET} --require-rebuilders {REQUIRED}"
    accepted = fetch_required(demo, "operator/rebuilders/accepted")
    if accepted.returncode != 0:
        demo.check(what, "failed", accepted.stderr.strip() or accepted.stdout.strip())
        return
    fetched = json.loads(accepted.stdout)
    demo.check(what, "ok", fetched["rebuilders"]["reason"])
    # The liar.
    honest = next((f for f in alice_files if f"/{ATTESTED_TARGET}/" in f), None)
    if honest is None:
        demo.check(f"rebuilder {LYING_REBUILDER} publishes a lying attestation", "failed",
                   f"{alice} published no {ATTESTED_TARGET} attestation to copy")
        return
    path, claimed, real = lie(demo, demo.workdir / honest,
                              demo.workdir / fetched["written_to"])
    demo.repo_tool("rebuilder", "submit", LYING_REBUILDER, "--repo", "repo", "--key",
                   _key(LYING_REBUILDER), "--insecure-plaintext", str(path))
    demo.check(f"rebuilder {LYING_REBUILDER} publishes a lying attestation", "ok",
               f"signed by its own key: {FETCHED_PACKAGE} {fetched['version']} "
               f"{ATTESTED_TARGET} reproducible as sha256 {short(claimed)} (published "
               f"{short(real)}); rebuilder submit records it")
    refused = fetch_required(demo, "operator/rebuilders/refused")
    written = demo.workdir / "operator" / "rebuilders" / "refused" / \
        f"{FETCHED_PACKAGE}.{ATTESTED_TARGET}"
    message = refused.stderr.strip().removeprefix("error: ")
    if refused.returncode == 1 and f"disagreed: {LYING_REBUILDER}" in message and \
            not written.exists():
        demo.check(f"{what} after the lie", "ok", f"{message}; nothing written")
    else:
        demo.check(f"{what} after the lie", "failed",
                   f"exit {refused.returncode}: {message or refused.stdout.strip()}")
    allowed = fetch_required(demo, "operator/rebuilders/allowed", "--allow-disagreement")
    if allowed.returncode == 0:
        demo.check(f"{what} --allow-disagreement", "ok",
                   json.loads(allowed.stdout)["rebuilders"]["reason"])
    else:
        demo.check(f"{what} --allow-disagreement", "failed", allowed.stderr.strip())
    demo.console.print(demo.repo_tool("verify", "--repo", "repo").stdout.strip(),
                       highlight=False)
    dashboard_row(demo, fetched["version"])


def dashboard_row(demo: Demo, version: str) -> None:
    """What the dashboard's "reproduced by" shows for the attested image."""
    what = f"dashboard: {FETCHED_PACKAGE} {version} {ATTESTED_TARGET} reproduced by"
    dashboard = repository_paths(demo.workdir / "repo").dashboard
    document = json.loads((dashboard / "index.json").read_text())
    row = next((r for r in document["rows"] if (r["package"], r["version"], r["target"])
                == (FETCHED_PACKAGE, version, ATTESTED_TARGET)), None)
    attested = (row or {}).get("rebuilders")
    if not attested:
        demo.check(what, "failed", "the row shows no published attestations")
        return
    demo.check(what, "ok" if attested["confirmed_by"] == list(HONEST_REBUILDERS) and
               attested["disagreed"] == [LYING_REBUILDER] else "failed",
               f"{', '.join(attested['confirmed_by'])}; disagreed: "
               f"{', '.join(attested['disagreed']) or 'nobody'} (published attestations, "
               "verified)")
