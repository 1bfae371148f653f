"""One set of C language and warning flags (solo5/cflags.mk) for all C code:
the image recipe, every Makefile and the Python-driven host builds use it,
and it is strict enough to matter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from solo5.recipe import (
    C_COMMON_FLAGS,
    CFLAGS_FILE,
    PlanError,
    image_plan,
    read_common_cflags,
    run_plan,
)

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ("-std=c11", "-Wall", "-Wextra", "-Werror", "-Wvla", "-Wshadow", "-Wcast-qual",
            "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wpointer-arith", "-Wformat=2")


def test_the_flag_set_is_strict() -> None:
    assert set(REQUIRED) <= set(C_COMMON_FLAGS)
    assert C_COMMON_FLAGS == read_common_cflags(CFLAGS_FILE.read_text())


@pytest.mark.parametrize("text", [
    "",
    "C_COMMON_FLAGS := -Wall\nC_COMMON_FLAGS := -Wextra\n",
    "C_COMMON_FLAGS :=\n",
    "C_COMMON_FLAGS := -Wall $(EXTRA)\n",
])
def test_a_malformed_flags_file_is_refused(text: str) -> None:
    with pytest.raises(PlanError, match="exactly one 'C_COMMON_FLAGS"):
        read_common_cflags(text)


@pytest.mark.slow  # runs the compiler
def test_every_image_compile_uses_the_flags() -> None:
    plan = image_plan("hvt", "app", ["main.c"], [], [])
    compiles = [command for command in plan.commands if "-c" in command]
    assert len(compiles) > 3  # bindings, manifest, application
    for command in compiles:
        start = command.index(C_COMMON_FLAGS[0])
        assert command[start:start + len(C_COMMON_FLAGS)] == C_COMMON_FLAGS


MAKEFILE_TARGETS = {
    "solo5": ["OUT=/nonexistent/out", "/nonexistent/out/solo5-spt",
              "/nonexistent/out/solo5-hvt", "/nonexistent/out/solo5-hvt-debug"],
    "runtime": ["BUILD=/nonexistent/build", "harness", "tap-peer", "libc-test", "loop-test",
                "fuzzers", "tcp-layout"],
    "unikernels/dns": ["BUILD=/nonexistent/build", "host", "fuzzers"],
}


def test_every_makefile_that_compiles_c_is_checked() -> None:
    folders = {str(path.parent.relative_to(REPO)) for folder in ("solo5", "runtime", "unikernels")
               for path in (REPO / folder).rglob("Makefile")}
    assert folders == set(MAKEFILE_TARGETS)


@pytest.mark.slow  # runs the compiler
@pytest.mark.parametrize(("folder", "targets"), MAKEFILE_TARGETS.items())
def test_makefiles_compile_with_the_flags(folder: str, targets: list[str]) -> None:
    """Every compiler call the Makefiles would make carries the whole set."""
    result = subprocess.run(["make", "-n", "-B", "-C", str(REPO / folder), *targets],
                            capture_output=True, text=True, check=True)
    calls = [line for line in result.stdout.splitlines()
             if line.split(" ", 1)[0] in ("gcc", "clang")]
    assert len(calls) >= len(targets) - 1
    joined = " ".join(C_COMMON_FLAGS)
    assert all(joined in line for line in calls), [c for c in calls if joined not in c]


@pytest.mark.slow  # runs the compiler
def test_a_warning_fails_an_image_build(tmp_path: Path) -> None:
    """-Werror with the stricter flags: a shadowed name stops the build."""
    (tmp_path / "main.c").write_text(
        "#include <solo5.h>\n"
        "int solo5_app_main(const struct solo5_start_info *si)\n"
        "{ int n = 0; { int n = 1; (void)n; } (void)si; return n; }\n")
    with pytest.raises(PlanError, match=r"-Werror=shadow"):
        run_plan(image_plan("spt", "shadow", ["main.c"], [], []), tmp_path)

