"""Our hvt images on an upstream tender (issue 17.4): `solo5-hvt
--no-extensions` offers exactly upstream's hvt ABI, so the bindings stay in
ring 0 as they would under upstream's solo5-hvt. Each published hvt image
that needs no network is built as the builder builds it and must end the
same way (exit status and last console line) in both modes.

Where the host's KVM emulates ring 0 instead of running it (kvm-pvm, this
machine: docs/hvt.md "User mode"), ring-0 SSE cannot run at all ("KVM
internal error"). There, an image whose code contains SSE instructions is
skipped with that reason, and one whose code has none must still run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from builder.plan import compile_inputs, load_index, prefix_map_flags, resolve
from solo5.recipe import Device, image_plan, run_plan
from solo5.tenders import tender_path
from tests.solo5.support import REPO

pytestmark = pytest.mark.kvm

# Published hvt unikernels without a NET device, and the arguments they need.
IMAGES = {
    "hello": (), "test_abort": (), "test_block": (), "test_hostleak": (),
    "test_hvt_bounds": ("ok",), "test_ssp": (), "test_time": (), "unrepro_date": (),
    "unrepro_path": (),
}
SSE_PROBE = """#include <solo5.h>
int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    __asm__ __volatile__("pxor %%xmm0, %%xmm0" ::: "xmm0");
    return 0;
}
"""


def build_published(name: str, build_dir: Path) -> Path:
    """The package's hvt image with the builder's inputs and flags, outside the sandbox."""
    index = load_index(REPO / "packages")
    (manifest,) = [m for (n, _), m in index.items() if n == name]
    deps = resolve(manifest, index)
    for item in (*deps, manifest):
        for source in item.sources:
            (build_dir / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / source, build_dir / source)
    sources, include_dirs = compile_inputs(manifest, deps)
    devices = [Device(d.name, d.kind) for d in manifest.devices]
    plan = image_plan("hvt", name, sources, include_dirs, devices,
                      extra_cflags=prefix_map_flags(str(build_dir)))
    return run_plan(plan, build_dir)


def run(image: Path, *options: str, args: tuple[str, ...] = (),
        disk: Path | None = None) -> subprocess.CompletedProcess[str]:
    block = [f"--block:storage={disk}"] if disk is not None else []
    return subprocess.run([str(tender_path("hvt")), "--mem=32", *options, *block, str(image),
                           "--solo5:info", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def has_sse(image: Path) -> bool:
    text = subprocess.run(["objdump", "-d", str(image)], capture_output=True, text=True,
                          check=True).stdout
    return "%xmm" in text or "%ymm" in text


@pytest.fixture(scope="module")
def ring0_sse_runs(tmp_path_factory: pytest.TempPathFactory) -> bool:
    """Whether this host executes SSE in guest ring 0 (hardware KVM does)."""
    root = tmp_path_factory.mktemp("sse-probe")
    (root / "probe.c").write_text(SSE_PROBE)
    image = run_plan(image_plan("hvt", "probe", ["probe.c"], [], []), root)
    result = run(image, "--no-extensions")
    if result.returncode == 0:
        return True
    assert "KVM internal error" in result.stderr, result.stdout + result.stderr
    return False


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_published_image_behaves_the_same_in_upstream_mode(name: str, ring0_sse_runs: bool,
                                                           tmp_path: Path) -> None:
    image = build_published(name, tmp_path / "build")
    disk = None
    if name == "test_block":
        disk = tmp_path / "disk.img"
        disk.write_bytes(bytes(64 * 1024))
    ours = run(image, args=IMAGES[name], disk=disk)
    upstream = run(image, "--no-extensions", args=IMAGES[name], disk=disk)
    if not ring0_sse_runs and "KVM internal error" in upstream.stderr:
        assert has_sse(image), "an image without SSE must run in ring 0 on any KVM"
        pytest.skip(f"{name} uses SSE, which this host's KVM cannot run in guest ring 0")
    assert upstream.returncode == ours.returncode, upstream.stdout + upstream.stderr
    assert upstream.stdout.splitlines()[-1] == ours.stdout.splitlines()[-1]
    assert "Solo5: unirepo bindings" in upstream.stdout
