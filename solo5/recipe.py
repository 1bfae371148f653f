"""The one compile-and-link recipe for Solo5 images, as data.

`image_plan()` says exactly which files to generate and which compiler and
linker commands to run, in order, in a build directory. The tests and the
launcher execute it with `run_plan()`; the builder runs the same plan in
its sandbox. Flags are fixed per target and keep the output independent of
the build path and environment: only relative paths inside the build
directory, the solo5 root remapped with -ffile-prefix-map, no debug info,
no build id, no PIE.

The bindings are compiled inside every plan (no prebuilt objects), combined
with `ld -r`, and every symbol but the public API (solo5_*), _start and the
stack-protector symbols is made local, so bindings helpers (memcpy, ...)
never clash with an application's or a libOS's.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solo5.errors import Solo5Error
from solo5.manifest import Device, load_devices, manifest_c_source, validate_devices

__all__ = [
    "C_COMMON_FLAGS",
    "SOLO5_ROOT",
    "TARGETS",
    "BuildPlan",
    "Device",
    "PlanError",
    "image_plan",
    "load_devices",
    "run_plan",
]

TARGETS: tuple[str, ...] = ("hvt", "spt", "virtio", "xen")  # xen: build-only here
SOLO5_ROOT: Path = Path(__file__).resolve().parent
CFLAGS_FILE: Path = SOLO5_ROOT / "cflags.mk"


class PlanError(Solo5Error):
    """An image plan cannot be made or one of its commands failed."""


def read_common_cflags(text: str) -> tuple[str, ...]:
    """The flags of the one `C_COMMON_FLAGS := ...` line of cflags.mk."""
    found = [line.split(":=", 1)[1].split() for line in text.splitlines()
             if line.split(":=", 1)[0].strip() == "C_COMMON_FLAGS" and ":=" in line]
    if len(found) != 1 or not found[0] or not all(f.startswith("-") for f in found[0]):
        raise PlanError(f"{CFLAGS_FILE} must have exactly one 'C_COMMON_FLAGS := -flag ...' line")
    return tuple(found[0])


# The language and warning flags of all C code in the repository (cflags.mk).
C_COMMON_FLAGS: tuple[str, ...] = read_common_cflags(CFLAGS_FILE.read_text())


@dataclass(frozen=True)
class BuildPlan:
    files: dict[str, bytes]  # generated inputs, relative to the build dir
    commands: tuple[tuple[str, ...], ...]  # argv, run in order with cwd = build dir
    output: str  # relative path of the produced image
    tools: tuple[str, ...]  # absolute paths of the programs invoked


def _tool(name: str) -> str:
    found = shutil.which(name, path="/usr/bin:/bin")
    if found is None:
        raise PlanError(f"{name} is not installed (needed to build Solo5 images)")
    return found


@functools.cache
def _gcc_include_dir(gcc: str) -> str:
    """The compiler's own freestanding headers (stddef.h, stdint.h, ...)."""
    result = subprocess.run([gcc, "-print-file-name=include"], capture_output=True,
                            text=True, check=False, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    path = result.stdout.strip()
    if result.returncode != 0 or not os.path.isabs(path):
        raise PlanError(f"{gcc} does not report its include directory")
    return path


# Flags for every guest object (application, manifest, bindings).
_GUEST_CFLAGS: tuple[str, ...] = (
    "-O2",
    "-ffreestanding",
    "-fno-pie",
    "-fno-pic",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-ident",
    "-fstack-protector-strong",
    "-mstack-protector-guard=global",
    "-nostdinc",
)

# Bindings run before the FPU is set up on hvt and share trap stacks (§6.2).
_BINDINGS_CFLAGS: tuple[str, ...] = (
    "-mno-red-zone",
    "-mno-sse",
    "-mno-mmx",
    "-mno-avx",
    "-mno-aes",
)

_LINK_FLAGS: tuple[str, ...] = (
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,--build-id=none",
    "-Wl,-z,max-page-size=0x1000",
    "-Wl,-z,noexecstack",
    "-Wl,--no-undefined",
)

# Symbols the bindings keep global after `ld -r`.
_PUBLIC_SYMBOLS: tuple[str, ...] = ("solo5_*", "_start", "_start32", "__stack_chk_guard",
                                    "__stack_chk_fail")  # _start32: virtio's Multiboot entry

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


# The x86_64 code the hardware-virtualised targets share (bindings/x86_64/):
# CPU tables and exception stubs for all three; the 32-bit start and the
# fatal-trap report for the two that boot from a loader (hvt has its own).
_X86_64_CPU = ("bindings/x86_64/cpu.c", "bindings/x86_64/traps.S")
_X86_64_LOADED = (*_X86_64_CPU, "bindings/x86_64/boot32.S", "bindings/x86_64/trap_abort.c")
_SHARED_BINDINGS: dict[str, tuple[str, ...]] = {
    "hvt": _X86_64_CPU, "virtio": _X86_64_LOADED, "xen": _X86_64_LOADED}


def _bindings_sources(target: str) -> list[str]:
    """Bindings files relative to the solo5 root, in a fixed order."""
    found: list[str] = []
    for folder, patterns in (("bindings/common", ("*.c",)), (f"bindings/{target}", ("*.c", "*.S"))):
        for pattern in patterns:
            found += sorted(p.relative_to(SOLO5_ROOT).as_posix()
                            for p in (SOLO5_ROOT / folder).glob(pattern))
    return found + list(_SHARED_BINDINGS.get(target, ()))


def _object_name(prefix: str, source: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_]", "_", source.rsplit(".", 1)[0])
    return f"{prefix}{stem}.o"


def _check_relative(path: str, what: str) -> None:
    if os.path.isabs(path) or ".." in Path(path).parts or not path:
        raise PlanError(f"{what} {path!r} must be a relative path inside the build directory")


def image_plan(target: str, name: str, sources: Sequence[str], include_dirs: Sequence[str],
               devices: Sequence[Device], *, solo5_root: str | None = None,
               extra_cflags: Sequence[str] = ()) -> BuildPlan:
    """Plan the build of image `name.<target>` from C sources and a device list."""
    if target not in TARGETS:
        raise PlanError(f"unknown Solo5 target {target!r} (known: {', '.join(TARGETS)})")
    if not _SAFE_NAME.match(name):
        raise PlanError(f"image name {name!r} must be letters, digits, '_', '.', '-'")
    if not sources:
        raise PlanError("an image needs at least one source file")
    for source in sources:
        _check_relative(source, "source")
        if not source.endswith((".c", ".S")):
            raise PlanError(f"source {source!r} must be a .c or .S file")
    for folder in include_dirs:
        _check_relative(folder, "include directory")
    devices = validate_devices(devices)
    root = solo5_root if solo5_root is not None else str(SOLO5_ROOT)
    if not os.path.isabs(root):
        raise PlanError(f"solo5 root {root!r} must be an absolute path")
    root = root.rstrip("/") or "/"
    bindings = _bindings_sources(target)
    if not any(path.startswith(f"bindings/{target}/") for path in bindings):
        raise PlanError(f"the {target} bindings are missing from {SOLO5_ROOT}/bindings/{target}")

    gcc, ld, objcopy = _tool("gcc"), _tool("ld"), _tool("objcopy")
    base_cflags = (
        *C_COMMON_FLAGS,
        *_GUEST_CFLAGS,
        "-isystem", _gcc_include_dir(gcc),
        f"-ffile-prefix-map={root}=solo5",
        "-I", f"{root}/include",
    )
    commands: list[tuple[str, ...]] = []

    bindings_objects = []
    for source in bindings:
        obj = _object_name(f"_solo5_{target}_", source)
        commands.append((gcc, *base_cflags, *_BINDINGS_CFLAGS, "-c", f"{root}/{source}",
                         "-o", obj))
        bindings_objects.append(obj)
    combined = f"_solo5_{target}_combined.o"
    bindings_object = f"_solo5_{target}.o"
    commands.append((ld, "-r", "-o", combined, *bindings_objects))
    keep = [arg for symbol in _PUBLIC_SYMBOLS for arg in ("-G", symbol)]
    commands.append((objcopy, "-w", *keep, combined, bindings_object))

    manifest_source = "_solo5_manifest.c"
    app_cflags = (*base_cflags, *(arg for d in include_dirs for arg in ("-I", d)),
                  *extra_cflags)
    app_objects = [_object_name("_solo5_", manifest_source)]
    commands.append((gcc, *app_cflags, "-c", manifest_source, "-o", app_objects[0]))
    for source in sources:
        obj = _object_name("_app_", source)
        commands.append((gcc, *app_cflags, "-c", source, "-o", obj))
        app_objects.append(obj)

    output = f"{name}.{target}"
    commands.append((gcc, *_LINK_FLAGS, "-T", f"{root}/lds/{target}.lds", "-o", output,
                     *app_objects, bindings_object))
    return BuildPlan(
        files={manifest_source: manifest_c_source(devices)},
        commands=tuple(commands),
        output=output,
        tools=(gcc, ld, objcopy),
    )


def run_plan(plan: BuildPlan, build_dir: str | os.PathLike[str]) -> Path:
    """Write the plan's files and run its commands in build_dir; return the image path."""
    directory = Path(build_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for relative, content in plan.files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}
    for argv in plan.commands:
        result = subprocess.run(argv, cwd=directory, capture_output=True, text=True,
                                env=env, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            first = next((line for line in detail if "error" in line), detail[0] if detail
                         else f"exit status {result.returncode}")
            raise PlanError(f"{Path(argv[0]).name} failed: {first}")
    return directory / plan.output
