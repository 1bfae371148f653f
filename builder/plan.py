"""Packages to build requests: the index, dependency resolution, image plans.

Resolution and plan-making are pure; loading the index and reading files are
the I/O edges. A unikernel is compiled together with the sources of the
libraries it depends on (their compiled sources first, in dependency order),
with their include directories, for each of its Solo5 targets. The builder
adds one flag to the recipe's fixed per-target flags: a prefix map of the
build directory, so the build path is kept out of every output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from builder.archive import SourceFile, archive_from_tree, read_archive
from builder.build import BuildRequest, PlanLike
from builder.errors import BuildError
from builder.manifest import NAME_RE, VERSION_RE, Manifest, parse_manifest
from builder.sandbox import SOLO5_MOUNT

MANIFEST_NAME = "manifest.json"

# The recipe signature of solo5.recipe.image_plan.
Recipe = Callable[..., PlanLike]


class ResolveError(BuildError):
    """Dependencies cannot be resolved (missing, cyclic, wrong kind, conflicting files)."""


@dataclass(frozen=True)
class Package:
    """A manifest together with its declared sources (read and validated)."""

    manifest: Manifest
    files: Mapping[str, SourceFile]


@dataclass(frozen=True)
class PackageIndex:
    """The manifests of packages/<name>/<version>/, and the ones that could not be read.

    One malformed manifest is reported under `broken` and blocks nothing but
    the packages that depend on it.
    """

    manifests: dict[tuple[str, str], Manifest]
    broken: dict[Path, str]


def scan_index(packages_dir: Path) -> PackageIndex:
    """Every packages/<name>/<version>/manifest.json, each validated on its own."""
    if not packages_dir.is_dir():
        raise BuildError(f"package index {packages_dir} is not a directory")
    manifests: dict[tuple[str, str], Manifest] = {}
    broken: dict[Path, str] = {}
    for path in sorted(packages_dir.glob(f"*/*/{MANIFEST_NAME}")):
        expected = (path.parent.parent.name, path.parent.name)
        try:
            manifest = parse_manifest(path.read_bytes())
        except (BuildError, OSError) as error:
            broken[path] = str(error).splitlines()[0]
            continue
        if (manifest.name, manifest.version) != expected:
            broken[path] = f"declares {manifest.ident}, not {expected[0]}-{expected[1]}"
            continue
        manifests[expected] = manifest
    return PackageIndex(manifests, broken)


def load_index(packages_dir: Path) -> dict[tuple[str, str], Manifest]:
    """Every manifest of the index, or BuildError naming the first malformed one."""
    index = scan_index(packages_dir)
    for path, problem in index.broken.items():
        raise BuildError(f"{path}: {problem}")
    return index.manifests


def staged_package(
    manifest_bytes: bytes, archive_bytes: bytes, package: str, version: str
) -> Package:
    """A staged release's package: its manifest, and an archive holding exactly its sources."""
    manifest = parse_manifest(manifest_bytes)
    if (manifest.name, manifest.version) != (package, version):
        raise BuildError(f"staged {package} {version} carries a manifest of {manifest.ident}")
    files = read_archive(archive_bytes)
    missing = sorted(set(manifest.sources) - set(files))
    extra = sorted(set(files) - set(manifest.sources))
    if missing or extra:
        raise BuildError(
            f"source archive does not match the manifest "
            f"(missing {missing[:3]}, undeclared {extra[:3]})"
        )
    return Package(manifest, files)


def check_declared_targets(manifest: Manifest, targets: Sequence[str]) -> None:
    """Images are built only for a unikernel, only for the Solo5 targets it declares."""
    if manifest.kind != "unikernel":
        raise BuildError(f"{manifest.ident} is a library: it is built as part of its dependents")
    for target in targets:
        if target not in manifest.targets:
            raise BuildError(
                f"{manifest.ident} does not declare target {target!r} "
                f"(its manifest lists {', '.join(manifest.targets)})"
            )


def check_release(
    manifest_bytes: bytes, archive_bytes: bytes, package: str, version: str,
    targets: Sequence[str],
) -> Package:
    """What the builder will require of a release, checked when its author stages it:
    a MAJOR.MINOR.PATCH version, the manifest of exactly this package and version, a
    safe archive of exactly its sources, images only for targets it declares."""
    if not NAME_RE.fullmatch(package):
        raise BuildError(f"invalid package name {package!r}: must match {NAME_RE.pattern}")
    if not VERSION_RE.fullmatch(version):
        raise BuildError(
            f"invalid version {version!r}: a release version is MAJOR.MINOR.PATCH[-PRE] "
            "(e.g. 1.0.0)"
        )
    package_files = staged_package(manifest_bytes, archive_bytes, package, version)
    if package_files.manifest.kind == "library":
        if targets:
            raise BuildError(
                f"{package_files.manifest.ident} is a library: its release carries no images "
                "(its published source archive is built into its dependents)"
            )
        return package_files
    if not targets:
        raise BuildError(f"{package_files.manifest.ident}: a unikernel release signs at least "
                         "one image")
    check_declared_targets(package_files.manifest, targets)
    return package_files


def resolve(manifest: Manifest, index: Mapping[tuple[str, str], Manifest]) -> list[Manifest]:
    """The transitive library dependencies of manifest, each before its dependents."""
    order: list[Manifest] = []
    state: dict[tuple[str, str], str] = {}

    def visit(current: Manifest, chain: tuple[str, ...]) -> None:
        for dep_name, dep_version in current.dependencies:
            key = (dep_name, dep_version)
            if key not in index:
                raise ResolveError(
                    f"{current.ident} depends on {dep_name} {dep_version}, which is not in the "
                    "index (or its manifest is malformed)"
                )
            if state.get(key) == "visiting":
                raise ResolveError(f"dependency cycle: {' -> '.join((*chain, dep_name))}")
            if state.get(key) == "done":
                continue
            dep = index[key]
            if dep.kind != "library":
                raise ResolveError(
                    f"{current.ident} depends on {dep.ident}, which is not a library"
                )
            state[key] = "visiting"
            visit(dep, (*chain, dep_name))
            state[key] = "done"
            order.append(dep)

    visit(manifest, (manifest.name,))
    names = [m.name for m in order]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ResolveError(f"conflicting versions of {', '.join(sorted(duplicates))} required")
    return order


# (library name, version) -> its published (manifest.json bytes, source archive bytes);
# raises BuildError naming what could not be had.
PublishedSource = Callable[[str, str], tuple[bytes, bytes]]


def published_dependencies(manifest: Manifest, published: PublishedSource) -> list[Package]:
    """The transitive library dependencies of manifest, each before its dependents, every one
    read from its *published* release (manifest and source archive, checked as a staged
    release is): a rebuild uses what the repository signed, never a local tree or index."""
    found: dict[tuple[str, str], Package] = {}
    pending = list(manifest.dependencies)
    while pending:
        key = pending.pop()
        if key in found:
            continue
        manifest_bytes, archive_bytes = published(*key)
        try:
            found[key] = staged_package(manifest_bytes, archive_bytes, *key)
        except BuildError as error:
            raise ResolveError(
                f"{manifest.ident}: published dependency {key[0]} {key[1]}: "
                f"{str(error).splitlines()[0]}"
            ) from None
        pending.extend(found[key].manifest.dependencies)
    order = resolve(manifest, {key: package.manifest for key, package in found.items()})
    return [found[(m.name, m.version)] for m in order]


def read_package_tree(manifest: Manifest, tree: Path) -> Package:
    """The package's declared files from a source tree, via its deterministic archive."""
    archive = archive_from_tree(tree, manifest.sources, manifest.source_date_epoch)
    return Package(manifest, read_archive(archive))


def merge_files(packages: Sequence[Package]) -> dict[str, SourceFile]:
    merged: dict[str, SourceFile] = {}
    for package in packages:
        for path, source in package.files.items():
            if path in merged and merged[path] != source:
                raise ResolveError(
                    f"{path} differs between {package.manifest.ident} and another package"
                )
            merged[path] = source
    return merged


def compile_inputs(manifest: Manifest, deps: Sequence[Manifest]) -> tuple[list[str], list[str]]:
    """(compiled sources, include dirs): the libraries' first, in dependency order."""
    sources: list[str] = []
    include_dirs: list[str] = []
    for item in (*deps, manifest):
        sources += [s for s in item.compiled_sources if s not in sources]
        include_dirs += [d for d in item.include_dirs if d not in include_dirs]
    return sources, include_dirs


def prefix_map_flags(build_dir: str) -> tuple[str, ...]:
    """The builder's only flag of its own: the build path mapped to "." so no
    output records it. Per-target flags live in solo5.recipe, the one recipe
    every image is built with, so an author's build and the builder's agree."""
    return (f"-ffile-prefix-map={build_dir}=.",)


def image_requests(
    package: Package,
    deps: Sequence[Package],
    recipe: Recipe,
    solo5_root: Path,
    device_type: Callable[[str, str], object],
    targets: Sequence[str] | None = None,
) -> list[BuildRequest]:
    """One BuildRequest per Solo5 target of a unikernel package."""
    manifest = package.manifest
    chosen = list(manifest.targets) if targets is None else list(targets)
    check_declared_targets(manifest, chosen)
    sources, include_dirs = compile_inputs(manifest, [d.manifest for d in deps])
    devices = [device_type(d.name, d.kind) for d in manifest.devices]
    files = merge_files([*deps, package])
    requests = []
    for target in chosen:

        def plan_for(build_dir: str, target: str = target) -> PlanLike:
            return recipe(
                target,
                manifest.name,
                sources,
                include_dirs,
                devices,
                solo5_root=SOLO5_MOUNT,
                extra_cflags=prefix_map_flags(build_dir),
            )

        requests.append(
            BuildRequest(
                ident=manifest.ident,
                target=target,
                files=files,
                plan_for=plan_for,
                source_date_epoch=manifest.source_date_epoch,
                solo5_root=solo5_root,
            )
        )
    return requests


def solo5_requests(
    package: Package, deps: Sequence[Package], targets: Sequence[str] | None = None
) -> list[BuildRequest]:
    """image_requests with the project's Solo5 recipe."""
    try:
        from solo5 import recipe as solo5_recipe
    except ImportError as error:
        raise BuildError(f"the Solo5 recipe is unavailable ({error})") from None
    return image_requests(
        package,
        deps,
        solo5_recipe.image_plan,
        solo5_recipe.SOLO5_ROOT,
        solo5_recipe.Device,
        targets,
    )
