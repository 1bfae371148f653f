"""The image recipe: fixed flags, path independence, refused inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from solo5.errors import Solo5Error
from solo5.recipe import SOLO5_ROOT, TARGETS, Device, PlanError, image_plan, run_plan
from tests.solo5.support import build_unikernel

HELLO = "#include <solo5.h>\nint solo5_app_main(const struct solo5_start_info *si)" \
        " { (void)si; return 0; }\n"


def test_plan_is_data_with_fixed_flags() -> None:
    plan = image_plan("spt", "app", ["src/main.c"], ["include"], [Device("net0", "NET_BASIC")],
                      solo5_root="/solo5")
    assert plan.output == "app.spt"
    assert set(plan.files) == {"_solo5_manifest.c"}
    assert all(Path(tool).is_absolute() for tool in plan.tools)
    assert {command[0] for command in plan.commands} <= set(plan.tools)
    link = plan.commands[-1]
    for flag in ("-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                 "-Wl,-z,max-page-size=0x1000"):
        assert flag in link
    assert link[link.index("-T") + 1] == "/solo5/lds/spt.lds"
    compiles = [c for c in plan.commands if "-c" in c]
    for command in compiles:
        assert "-ffile-prefix-map=/solo5=solo5" in command
        assert "-fstack-protector-strong" in command
        assert "-mstack-protector-guard=global" in command
        assert not any(str(SOLO5_ROOT) in arg for arg in command)
    bindings = [c for c in compiles if any(a.startswith("/solo5/bindings/") for a in c)]
    assert bindings and all("-mno-red-zone" in c for c in bindings)
    assert any("/solo5/bindings/spt/platform_spt.c" in c for c in bindings)
    # Plans are pure: the same inputs give the same plan.
    assert plan == image_plan("spt", "app", ["src/main.c"], ["include"],
                              [Device("net0", "NET_BASIC")], solo5_root="/solo5")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target": "muen"}, "unknown Solo5 target"),
    ({"name": "../x"}, "image name"),
    ({"sources": []}, "at least one source"),
    ({"sources": ["/abs/main.c"]}, "relative path"),
    ({"sources": ["../main.c"]}, "relative path"),
    ({"sources": ["main.py"]}, ".c or .S"),
    ({"include_dirs": ["/usr/include"]}, "relative path"),
    ({"devices": [Device("a-b", "NET_BASIC")]}, "letters and digits"),
    ({"solo5_root": "relative"}, "absolute path"),
])
def test_bad_plan_inputs_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"target": "spt", "name": "app", "sources": ["main.c"],
                               "include_dirs": [], "devices": []}
    args.update(kwargs)
    with pytest.raises(Solo5Error, match=message):
        image_plan(**args)  # type: ignore[arg-type]


@pytest.mark.slow  # runs gcc: the slow tier builds C
def test_compile_error_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "main.c").write_text("int solo5_app_main(void) { return }\n")
    with pytest.raises(PlanError, match=r"gcc failed: .*error"):
        run_plan(image_plan("spt", "bad", ["main.c"], [], []), tmp_path)


@pytest.mark.slow  # runs gcc: the slow tier builds C
@pytest.mark.parametrize("target", TARGETS)
def test_output_does_not_depend_on_build_path(tmp_path: Path, target: str) -> None:
    first = build_unikernel("test_block", target, tmp_path / "a")
    second = build_unikernel("test_block", target, tmp_path / "deeper" / "other-dir")
    assert hashlib.sha256(first.read_bytes()).digest() == \
        hashlib.sha256(second.read_bytes()).digest()
    assert str(tmp_path).encode() not in first.read_bytes()
    assert str(SOLO5_ROOT).encode() not in first.read_bytes()


@pytest.mark.slow  # runs gcc: the slow tier builds C
def test_bindings_internals_are_local(tmp_path: Path) -> None:
    """An application may define memcpy itself: the bindings' copy is hidden."""
    (tmp_path / "main.c").write_text(
        HELLO + "void *memcpy(void *d, const void *s, unsigned long n);\n"
                "void *memcpy(void *d, const void *s, unsigned long n)"
                " { char *a = d; const char *b = s; while (n--) *a++ = *b++; return d; }\n")
    image = run_plan(image_plan("spt", "own", ["main.c"], [], []), tmp_path)
    assert image.exists()
