"""One build: lay out the declared inputs, run the plan in the sandbox, hash the image."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from builder.archive import SourceFile, write_tree
from builder.errors import BuildError
from builder.limits import DEFAULT_LIMITS, Limits
from builder.sandbox import SandboxedBuild, run_sandboxed
from builder.variations import Conditions


class PlanLike(Protocol):
    """The shape of solo5.recipe.BuildPlan (duck-typed so builder does not pin it)."""

    @property
    def files(self) -> dict[str, bytes]: ...
    @property
    def commands(self) -> tuple[tuple[str, ...], ...]: ...
    @property
    def output(self) -> str: ...
    @property
    def tools(self) -> tuple[str, ...]: ...


# Given the in-sandbox build directory, the plan to run there (its prefix maps name it).
PlanFor = Callable[[str], PlanLike]


@dataclass(frozen=True)
class BuildRequest:
    ident: str  # NAME-VERSION, the leaf of the build path
    target: str
    files: Mapping[str, SourceFile]  # the package's and its dependencies' declared sources
    plan_for: PlanFor
    source_date_epoch: int
    solo5_root: Path | None


@dataclass(frozen=True)
class BuildOutcome:
    label: str
    conditions: Conditions
    ok: bool
    image: Path | None
    sha256: str | None
    size: int | None
    seconds: float
    log: str
    commands: tuple[tuple[str, ...], ...]
    sandbox_argv: tuple[str, ...]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _shuffled(tree: Path, mounts: Path, subtrees: list[str]) -> Iterator[list[tuple[Path, str]]]:
    """Each input subtree re-exposed through disorderfs with shuffled directory entries.

    Only the declared inputs' top-level directories are shuffled: the build
    writes its objects and image at the tree's root, which stays a plain
    directory, so compiler output does not pay FUSE round trips.
    """
    mounted: list[tuple[Path, str]] = []
    try:
        for subtree in subtrees:
            mount = mounts / subtree
            mount.mkdir(parents=True, exist_ok=True)
            started = subprocess.run(
                [
                    "disorderfs",
                    "-q",
                    "--shuffle-dirents=yes",
                    "-o",
                    "allow_other",
                    str(tree / subtree),
                    str(mount),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if started.returncode != 0:
                detail = started.stderr.strip() or started.returncode
                raise BuildError(f"disorderfs failed: {detail}")
            mounted.append((mount, subtree))
        yield mounted
    finally:
        for mount, _ in mounted:
            subprocess.run(["fusermount", "-u", "-z", str(mount)], capture_output=True, check=False)


def run_build(
    request: BuildRequest,
    conditions: Conditions,
    workdir: Path,
    label: str,
    limits: Limits = DEFAULT_LIMITS,
) -> BuildOutcome:
    """Build once under `conditions` in workdir/label; the image is copied to workdir/label.out."""
    root = workdir / label
    if root.exists():
        shutil.rmtree(root)
    tree = root / "tree"
    tree.mkdir(parents=True)
    build_dir = conditions.build_dir(request.ident)
    plan = request.plan_for(build_dir)
    order = "reverse" if conditions.shuffle_dirents else "sorted"
    generated = {
        rel: SourceFile(rel, data) for rel, data in plan.files.items() if rel not in request.files
    }
    write_tree({**request.files, **generated}, tree, request.source_date_epoch, order=order)

    def sandboxed(overlays: list[tuple[Path, str]]) -> BuildOutcome:
        result = run_sandboxed(SandboxedBuild(
            conditions,
            tree=tree,
            overlays=overlays,
            build_dir=build_dir,
            etc_dir=root / "etc",
            solo5_root=request.solo5_root,
            source_date_epoch=request.source_date_epoch,
            commands=plan.commands,
            limits=limits,
        ))
        image = tree / plan.output
        ok = result.returncode == 0 and image.is_file()
        kept: Path | None = None
        if ok:
            kept = root / "image"
            shutil.copyfile(image, kept)
        log = result.output
        if result.returncode != 0:
            log += f"\nbuild exited with status {result.returncode}\n"
        if result.limit is not None:  # the last line, so the failure reason names it
            log += f"{result.limit}\n"
        if result.returncode == 0 and not ok:
            log += f"\nbuild finished but produced no {plan.output}\n"
        return BuildOutcome(
            label=label,
            conditions=conditions,
            ok=ok,
            image=kept,
            sha256=sha256_file(kept) if kept else None,
            size=kept.stat().st_size if kept else None,
            seconds=result.seconds,
            log=log,
            commands=plan.commands,
            sandbox_argv=result.argv,
        )

    if conditions.shuffle_dirents:
        subtrees = sorted({path.split("/")[0] for path in request.files if "/" in path})
        with _shuffled(tree, root / "shuffled", subtrees) as overlays:
            return sandboxed(overlays)
    return sandboxed([])
