"""Verify a package: per target, cache lookup, double build, build info, attestations.

Output layout (out_dir/NAME/VERSION/TARGET/):
  NAME.TARGET           the verified image (only when reproducible)
  buildinfo.json        toolchain identity, flags, inputs, outputs, variations, builds
  a.log, b.log          sandbox output of build A and B
  STEP.KEYID8.link      in-toto link of this run's layout step (signing.intoto_layout),
                        signed by the key (reproducible images, when a signer is given)
  provenance.dsse.json  the signed verdict: SLSA provenance v1 Statement in a DSSE
                        envelope (every status; see builder.verdict)
  *.diffoscope.{html,txt,json}  on a mismatch
  result.json           the verdict (what the dashboard shows)
The cache (cache_dir/KEY/) holds the files above, KEY being the sha256 of
every input: sources, dependencies, manifest, Solo5 tree, toolchain identity,
commands and the variation set. The cache is a trust boundary: an entry is
used only if its provenance.dsse.json is a verdict signed by this builder's
own key for exactly this KEY (and image hash); anything else is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securesystemslib.signer import Signer

from builder.archive import create_archive, tree_digest
from builder.build import BuildOutcome, BuildRequest, sha256_file
from builder.buildinfo import (
    BUILD_TYPE,
    BUILDER_VERSION,
    digest_of,
    file_hashes,
    toolchain_identity,
    tree_hashes,
)
from builder.double import DoubleBuild, double_build
from builder.errors import BuildError
from builder.plan import Package, prefix_map_flags
from builder.reference import Reference, compare_toolchain, rebuild_reason
from builder.status import BuildStatus
from builder.variations import CONTROL, Conditions, Variation
from builder.verdict import (
    BuildVerdict,
    SignedResult,
    VerdictError,
    sign_verdict,
    verdict_statement,
    verify_result,
)
from fsio import atomic_write
from signing.attestations import link_file_name, make_link, sign_link
from signing.intoto_layout import AUTHOR_STEP, recorded_command

RESULT_NAME = "result.json"
# The parts of the Solo5 tree a guest build reads (headers, bindings, linker scripts).
SOLO5_BUILD_INPUTS = ("include", "bindings", "lds")
BUILDINFO_NAME = "buildinfo.json"
PROVENANCE_NAME = "provenance.dsse.json"


@dataclass(frozen=True)
class TargetResult:
    package: str
    version: str
    target: str
    status: BuildStatus
    reason: str
    sha256: str | None  # of the verified image (reproducible only)
    size: int | None
    sha256_a: str | None
    sha256_b: str | None
    seconds: float  # wall time of the double build (blame included)
    build_seconds: tuple[float, float]
    variations: tuple[dict[str, str], ...]
    culprits: tuple[str, ...]
    blame_seconds: float | None
    builder_id: str
    cached: bool
    finished: str
    out_dir: str
    image: str | None = None
    diffoscope: dict[str, str] = field(default_factory=dict)
    link: str | None = None
    provenance: str | None = None
    failed_log: str | None = None  # the log of the build that failed (failed only)
    toolchain: str = "unknown"  # vs the release's toolchain (rebuilds; builder.reference)

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["variations"] = list(self.variations)
        document["culprits"] = list(self.culprits)
        document["build_seconds"] = list(self.build_seconds)
        document["status"] = str(self.status)
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TargetResult:
        fields = dict(document)
        fields["variations"] = tuple(fields["variations"])
        fields["culprits"] = tuple(fields["culprits"])
        fields["build_seconds"] = tuple(fields["build_seconds"])
        fields["status"] = BuildStatus(fields["status"])
        return cls(**fields)


Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """How verify_target runs; every field has the default a plain build-package uses."""

    cache_dir: Path | None = None  # input-hash cache (used only with a signer, see above)
    signer: Signer | None = None  # the builder key: signs links and verdicts
    builder_id: str = "unirepo-builder"
    find_culprits: bool = True  # bisect the variations on a mismatch
    link_step: str = AUTHOR_STEP  # the layout step this run's in-toto link is for
    command: tuple[str, ...] = ()  # the command that ran, recorded in the link
    progress: Progress | None = None
    # Build A's conditions: the builder's CONTROL, or a rebuilder's own build path and user.
    control: Conditions = CONTROL
    # A rebuild: the published image (and toolchain) the result is compared with; the
    # verdict's reason and toolchain annotation say how it compares. No cache is used.
    reference: Reference | None = None


def write_json(path: Path, document: Any) -> None:
    atomic_write(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def solo5_hashes(request: BuildRequest) -> dict[str, str]:
    """sha256 of every Solo5 build input the sandbox mounts (PART/PATH -> digest)."""
    solo5: dict[str, str] = {}
    if request.solo5_root is not None:
        for part in SOLO5_BUILD_INPUTS:
            if (request.solo5_root / part).is_dir():
                hashes = tree_hashes(request.solo5_root / part)
                solo5.update({f"{part}/{path}": digest for path, digest in hashes.items()})
    return solo5


def input_record(
    request: BuildRequest,
    package: Package,
    deps: Sequence[Package],
    variations: Sequence[Variation],
    control: Conditions = CONTROL,
    solo5: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the image may depend on, as JSON (its digest is the cache key). `solo5`:
    solo5_hashes(request) already computed for a tree that cannot change (a frozen copy)."""
    plan = request.plan_for(control.build_dir(request.ident))
    solo5 = solo5_hashes(request) if solo5 is None else solo5
    return {
        "builder_version": BUILDER_VERSION,
        "target": request.target,
        "manifest": package.manifest.to_json(),
        "dependencies": [d.manifest.to_json() for d in deps],
        "sources": file_hashes(request.files),
        "sources_digest": tree_digest(request.files),
        "generated": {p: digest_of(d.hex()) for p, d in sorted(plan.files.items())},
        "solo5_tree_digest": digest_of(solo5),
        "toolchain": toolchain_identity(plan.tools),
        "commands": [list(c) for c in plan.commands],
        "variations": [v.name for v in variations],
    }


def build_record(outcome: BuildOutcome, source_date_epoch: int) -> dict[str, Any]:
    c = outcome.conditions
    return {
        "label": outcome.label,
        "ok": outcome.ok,
        "sha256": outcome.sha256,
        "size": outcome.size,
        "seconds": round(outcome.seconds, 3),
        "build_path": c.build_dir("NAME-VERSION"),
        "environment": c.environment(source_date_epoch),
        "umask": f"{c.umask:04o}",
        "uid": c.uid,
        "gid": c.gid,
        "hostname": c.hostname,
        "domainname": c.domainname,
        "cpus": c.cpus,
        "aslr": c.aslr,
        "uname_2_6": c.uname_26,
        "faketime": c.faketime,
        "shuffle_dirents": c.shuffle_dirents,
        "commands": [list(cmd) for cmd in outcome.commands],
        "sandbox": list(outcome.sandbox_argv),
    }


def build_info(
    request: BuildRequest, inputs: dict[str, Any], result: DoubleBuild, package: Package,
    control: Conditions = CONTROL,
) -> dict[str, Any]:
    image_name = f"{package.manifest.name}.{request.target}"
    return {
        "buildinfo_version": 1,
        "builder_version": BUILDER_VERSION,
        "package": package.manifest.name,
        "version": package.manifest.version,
        "target": request.target,
        "source_date_epoch": request.source_date_epoch,
        "host": {"machine": platform.machine(), "kernel": platform.release()},
        "toolchain": inputs["toolchain"],
        "flags": {
            "extra_cflags": list(prefix_map_flags(control.build_dir(request.ident)))
        },
        "inputs": {
            "sources": inputs["sources"],
            "generated": inputs["generated"],
            "solo5_tree_digest": inputs["solo5_tree_digest"],
            "dependencies": [f"{d['name']}-{d['version']}" for d in inputs["dependencies"]],
            "input_id": digest_of(inputs),
        },
        "outputs": {image_name: result.sha256} if result.sha256 else {},
        "status": result.status,
        "reason": result.reason,
        "variations": [{"name": v.name, "how": v.how} for v in result.variations],
        "builds": [
            build_record(result.control, request.source_date_epoch),
            build_record(result.experiment, request.source_date_epoch),
        ],
        "blame": (
            {
                "culprits": list(result.blame.culprits),
                "seconds": round(result.blame.seconds, 3),
                "builds": result.blame.builds,
            }
            if result.blame
            else None
        ),
    }


def archive_name(package: Package) -> str:
    return f"{package.manifest.ident}.tar.gz"


def _materials(
    request: BuildRequest,
    package: Package,
    deps: Sequence[Package],
    toolchain: Sequence[dict[str, str]],
) -> dict[str, dict[str, Any]]:
    """What an image is built from, by in-toto artifact name: the source and library
    archives (the deterministic archive of exactly the files built, the bytes a
    release publishes), every toolchain program (`toolchain/PATH`) and every
    Solo5 build input (`solo5/PART/PATH`). Values: sha256 and how to describe it."""
    materials: dict[str, dict[str, Any]] = {}
    for source in (package, *deps):
        archive = create_archive(source.files, source.manifest.source_date_epoch)
        materials[archive_name(source)] = {"sha256": hashlib.sha256(archive).hexdigest()}
    for tool in toolchain:
        materials[f"toolchain{tool['path']}"] = {
            "sha256": tool["sha256"],
            "uri": f"file://{tool['realpath']}",
            "annotations": {"debianPackage": tool["package"], "version": tool["version"]},
        }
    for path, digest in solo5_hashes(request).items():
        materials[f"solo5/{path}"] = {"sha256": digest}
    return materials


def _link(
    target_dir: Path,
    materials: dict[str, dict[str, Any]],
    products: dict[str, str],
    variations: Sequence[Variation],
    options: BuildOptions,
    signer: Signer,
) -> str:
    """The signed in-toto link of a reproducible image, named as in-toto-verify loads it."""
    link = make_link(
        options.link_step,
        recorded_command(options.link_step, options.command),
        {name: m["sha256"] for name, m in materials.items()},
        products,
        byproducts={"status": str(BuildStatus.REPRODUCIBLE)},
        environment={"builder": options.builder_id, "variations": [v.name for v in variations],
                     "invocation": list(options.command)},
    )
    for stale in target_dir.glob("*.link"):
        stale.unlink()  # a cached entry's link may be another step's; this run signs its own
    link_path = target_dir / link_file_name(options.link_step, signer.public_key.keyid)
    write_json(link_path, sign_link(link, signer))
    return str(link_path)


def _sign_verdict(
    target_dir: Path,
    verdict: BuildVerdict,
    info: dict[str, Any],
    request: BuildRequest,
    materials: dict[str, dict[str, Any]],
    signer: Signer,
    started: str,
) -> str:
    """The signed verdict (SLSA provenance v1 in DSSE) for any status."""
    statement = verdict_statement(
        verdict,
        build_type=BUILD_TYPE,
        source_date_epoch=request.source_date_epoch,
        internal_parameters={
            "variations": [v["name"] for v in info["variations"]],
            "flags": info["flags"],
            "toolchain": info["toolchain"],
        },
        resolved_dependencies=[
            {"name": name, "digest": {"sha256": m["sha256"]}}
            | {k: m[k] for k in ("uri", "annotations") if k in m}
            for name, m in sorted(materials.items())
        ],
        invocation_id=str(uuid.uuid4()),
        started_on=started,
        finished_on=_now(),
        byproducts=[{"name": BUILDINFO_NAME, "digest": {"sha256": digest_of(info)}}],
    )
    provenance_path = target_dir / PROVENANCE_NAME
    write_json(provenance_path, dict(sign_verdict(statement, signer).envelope))
    return str(provenance_path)


def _failed_log(result: DoubleBuild, target_dir: Path) -> str | None:
    if result.status != BuildStatus.FAILED:
        return None
    return str(target_dir / ("a.log" if not result.control.ok else "b.log"))


def log_tail(path: Path, lines: int = 12, limit: int = 1 << 16) -> list[str]:
    """The last lines of a build log (reads at most `limit` bytes from its end)."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - limit))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.rstrip().splitlines()[-lines:]


def _verify_frozen(
    request: BuildRequest,
    package: Package,
    deps: Sequence[Package],
    variations: Sequence[Variation],
    out_dir: Path,
    options: BuildOptions,
) -> TargetResult:
    """verify_target once the Solo5 inputs are frozen."""
    manifest = package.manifest
    progress = options.progress or (lambda _message: None)
    target_dir = out_dir / manifest.name / manifest.version / request.target
    inputs = input_record(request, package, deps, variations, options.control)
    key = digest_of(inputs)
    image_name = f"{manifest.name}.{request.target}"
    cached = _from_cache(options, key, target_dir, image_name)
    if cached is not None and options.find_culprits:
        if cached.status == BuildStatus.UNREPRODUCIBLE and cached.blame_seconds is None:
            cached = None  # the cached verdict has no culprits yet: build again to blame
    if cached is not None:
        progress(f"{manifest.ident} {request.target}: cache hit, not rebuilt")
        if options.signer is not None and cached.sha256 is not None:
            # The link is this run's claim (its step and command), over the signed image hash.
            materials = _materials(request, package, deps, inputs["toolchain"])
            cached = replace(cached, link=_link(target_dir, materials, {image_name: cached.sha256},
                                                variations, options, options.signer))
            write_json(target_dir / RESULT_NAME, cached.to_json())
        return cached
    started = _now()
    progress(f"{manifest.ident} {request.target}: building A and B")
    if target_dir.exists():
        shutil.rmtree(target_dir)
    target_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix=f"build-{manifest.ident}-") as work:
        result = double_build(
            request,
            variations,
            Path(work),
            report_dir=target_dir,
            find_culprits=options.find_culprits,
            control_conditions=options.control,
        )
        atomic_write(target_dir / "a.log", result.control.log.encode())
        atomic_write(target_dir / "b.log", result.experiment.log.encode())
        image_path: str | None = None
        if result.status == BuildStatus.REPRODUCIBLE and result.control.image is not None:
            shutil.copyfile(result.control.image, target_dir / image_name)
            image_path = str(target_dir / image_name)
    info = build_info(request, inputs, result, package, options.control)
    write_json(target_dir / BUILDINFO_NAME, info)
    size = result.control.size if result.sha256 else None
    reason, toolchain = result.reason, "unknown"
    if options.reference is not None:
        toolchain = compare_toolchain(inputs["toolchain"], options.reference.toolchain)
        reason = rebuild_reason(result.status, result.sha256, size, result.reason,
                                options.reference, toolchain)
    culprits = result.blame.culprits if result.blame else ()
    link = provenance = None
    if options.signer is not None:
        materials = _materials(request, package, deps, inputs["toolchain"])
        if result.status == BuildStatus.REPRODUCIBLE and result.sha256:
            link = _link(target_dir, materials, {image_name: result.sha256}, variations, options,
                         options.signer)
        verdict = BuildVerdict(
            package=manifest.name,
            version=manifest.version,
            target=request.target,
            status=result.status,
            reason=reason,
            sha256=result.sha256,
            size=size,
            input_id=key,
            builder_id=options.builder_id,
            culprits=culprits,
            toolchain=toolchain,
        )
        provenance = _sign_verdict(
            target_dir, verdict, info, request, materials, options.signer, started
        )
    verdict_record = TargetResult(
        package=manifest.name,
        version=manifest.version,
        target=request.target,
        status=result.status,
        reason=reason,
        sha256=result.sha256,
        size=size,
        sha256_a=result.control.sha256,
        sha256_b=result.experiment.sha256,
        seconds=round(result.seconds, 3),
        build_seconds=(round(result.control.seconds, 3), round(result.experiment.seconds, 3)),
        variations=tuple({"name": v.name, "how": v.how} for v in variations),
        culprits=culprits,
        blame_seconds=round(result.blame.seconds, 3) if result.blame else None,
        builder_id=options.builder_id,
        cached=False,
        finished=_now(),
        out_dir=str(target_dir),
        image=image_path,
        diffoscope=result.diffoscope,
        link=link,
        provenance=provenance,
        failed_log=_failed_log(result, target_dir),
        toolchain=toolchain,
    )
    write_json(target_dir / RESULT_NAME, verdict_record.to_json())
    if options.cache_dir is not None and provenance is not None:
        _to_cache(options.cache_dir, key, target_dir)
    return verdict_record


def verify_target(
    request: BuildRequest,
    package: Package,
    deps: Sequence[Package],
    variations: Sequence[Variation],
    out_dir: Path,
    options: BuildOptions = BuildOptions(),
) -> TargetResult:
    """Double-build one target (or reuse the cached verdict) and write its records.

    The Solo5 build inputs (headers, bindings, linker scripts) are copied once
    and that frozen copy is what every build of this verification mounts and
    what the cache key hashes, so A, B and the blame builds cannot see
    different Solo5 trees even if the tree changes meanwhile.
    """
    if request.solo5_root is None:
        return _verify_frozen(request, package, deps, variations, out_dir, options)
    with tempfile.TemporaryDirectory(prefix="solo5-frozen-") as frozen:
        os.chmod(frozen, 0o755)  # the unprivileged sandbox uid reads it
        for part in SOLO5_BUILD_INPUTS:
            if (request.solo5_root / part).is_dir():
                shutil.copytree(request.solo5_root / part, Path(frozen) / part, symlinks=False)
        return _verify_frozen(
            replace(request, solo5_root=Path(frozen)),
            package,
            deps,
            variations,
            out_dir,
            options,
        )


def _to_cache(cache_dir: Path, key: str, target_dir: Path) -> None:
    entry = cache_dir / key
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".incoming-"))
    try:
        for item in target_dir.iterdir():
            if item.is_file():
                shutil.copyfile(item, staging / item.name)
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(staging, entry)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def trusted_cache_verdict(
    entry: Path, key: str, signer: Signer, image_name: str
) -> BuildVerdict | None:
    """The verdict of cache entry `entry` if this builder's key signed it for input hash `key`.

    None (so the caller rebuilds) for an unsigned, forged or tampered entry,
    one signed for other inputs, or one whose image is not the signed bytes.
    """
    public = signer.public_key
    try:
        trusted = verify_result(SignedResult.load(entry / PROVENANCE_NAME), {public.keyid: public})
    except VerdictError:
        return None
    verdict = trusted.verdict
    if verdict.input_id != key:
        return None
    if verdict.sha256 is not None:
        image = entry / image_name
        if not image.is_file() or sha256_file(image) != verdict.sha256:
            return None
    return verdict


def _from_cache(
    options: BuildOptions, key: str, target_dir: Path, image_name: str
) -> TargetResult | None:
    if options.cache_dir is None or options.signer is None:
        return None  # without the builder's key no cached verdict can be trusted
    if options.reference is not None:
        return None  # a cached verdict was not compared with this published image
    entry = options.cache_dir / key
    if not (entry / RESULT_NAME).is_file():
        return None
    verdict = trusted_cache_verdict(entry, key, options.signer, image_name)
    if verdict is None:
        return None
    try:
        cached = TargetResult.from_json(json.loads((entry / RESULT_NAME).read_text()))
    except (ValueError, TypeError, KeyError):
        return None  # a damaged entry is rebuilt, not trusted
    # result.json is display detail (times, hashes of A and B); the verdict is the signed one.
    if (cached.status, cached.reason, cached.sha256, cached.size) != (
        verdict.status,
        verdict.reason,
        verdict.sha256,
        verdict.size,
    ):
        return None
    if target_dir.exists():
        shutil.rmtree(target_dir)
    shutil.copytree(entry, target_dir)
    image = target_dir / image_name
    relocated = {fmt: str(target_dir / Path(path).name) for fmt, path in cached.diffoscope.items()}
    document = cached.to_json()
    document.update(
        cached=True,
        out_dir=str(target_dir),
        image=str(image) if cached.sha256 else None,
        diffoscope=relocated,
        link=str(target_dir / Path(cached.link).name) if cached.link else None,
        provenance=str(target_dir / PROVENANCE_NAME),
        failed_log=str(target_dir / Path(cached.failed_log).name) if cached.failed_log else None,
    )
    return TargetResult.from_json(document)


def verify_package(
    requests: Sequence[BuildRequest],
    package: Package,
    deps: Sequence[Package],
    variations: Sequence[Variation],
    out_dir: Path,
    options: BuildOptions = BuildOptions(),
) -> list[TargetResult]:
    """verify_target for each request (targets run one after another, A and B in parallel)."""
    if not requests:
        raise BuildError(f"{package.manifest.ident}: nothing to build")
    return [verify_target(r, package, deps, variations, out_dir, options) for r in requests]
