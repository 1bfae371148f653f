"""Cached bodies leave by reference (tcp_send_ref, docs/www.md "Memory"):
files several times bigger than the 64 KiB send ring, served from the file
cache on spt and hvt over a tap, arrive intact with curl, alone, in
parallel, as a range and one after another on one kept-alive connection."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.support.netns import TapNamespace, tap_namespace
from tests.www.guest import GUEST_IP, booted_www, build_www

TARGETS = [pytest.param("spt", marks=pytest.mark.netadmin),
           pytest.param("hvt", marks=[pytest.mark.netadmin, pytest.mark.kvm])]
URL = f"http://{GUEST_IP}"
SIX_MIB = 6 << 20
THREE_MIB = 3 << 20


def file_bytes(size: int, salt: int) -> bytes:
    """Every 64 KiB block differs (a block sent twice or skipped shows)."""
    return b"".join(hashlib.sha256(f"{salt}:{k}".encode()).digest() * 2048
                    for k in range(size // 65536))


FILES = {"six.bin": file_bytes(SIX_MIB, 1), "three.bin": file_bytes(THREE_MIB, 2)}


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("www-big-site")
    public = root / "public"
    public.mkdir()
    for name, data in FILES.items():
        (public / name).write_bytes(data)
    archive = root / "site.tar"
    subprocess.run(["tar", "--format=ustar", "-cf", str(archive), "-C", str(public), "."],
                   check=True, capture_output=True, timeout=60)
    return archive


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def curl_to(ns: TapNamespace, *args: str) -> None:
    proc = subprocess.run(ns.command(["curl", "-sS", "--fail", "--max-time", "60", *args]),
                          capture_output=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


@pytest.mark.parametrize("target", TARGETS)
def test_big_cached_files_arrive_intact(target: str, big_site: Path,
                                        tmp_path: Path) -> None:
    image = build_www(target, tmp_path / "build")
    want = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}
    with tap_namespace() as ns, booted_www(image, ns, big_site, args=["--cache-mb=16"],
                                           mem_mb=64) as guest:
        # The first request of a file fills the cache (both fit in 16 MiB);
        # every response is then sent from it by reference.
        for round_ in range(2):
            out = tmp_path / f"six-{round_}.bin"
            curl_to(ns, "-o", str(out), f"{URL}/six.bin")
            assert sha256_file(out) == want["six.bin"]
        parallel = [subprocess.Popen(ns.command(["curl", "-sS", "--fail", "--max-time", "60",
                                                 "-o", str(tmp_path / f"p{k}.bin"),
                                                 f"{URL}/{name}"]))
                    for k, name in enumerate(["six.bin", "three.bin"] * 2)]
        assert [p.wait(timeout=90) for p in parallel] == [0, 0, 0, 0]
        for k, name in enumerate(["six.bin", "three.bin"] * 2):
            assert sha256_file(tmp_path / f"p{k}.bin") == want[name]
        # Two responses on one connection: the second head (copied) follows
        # the first body (referenced) in order.
        curl_to(ns, "-o", str(tmp_path / "a.bin"), f"{URL}/three.bin",
                "-o", str(tmp_path / "b.bin"), f"{URL}/six.bin")
        assert sha256_file(tmp_path / "a.bin") == want["three.bin"]
        assert sha256_file(tmp_path / "b.bin") == want["six.bin"]
        # A range from the middle of a cached file.
        first, last = 1_000_003, 5_000_000
        curl_to(ns, "-r", f"{first}-{last}", "-o", str(tmp_path / "r.bin"), f"{URL}/six.bin")
        assert (tmp_path / "r.bin").read_bytes() == FILES["six.bin"][first:last + 1]
        assert guest.proc.poll() is None, guest.text()
