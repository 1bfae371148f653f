"""The www and dns services on the virtio target: each booted under QEMU (TCG,
and KVM where /dev/kvm is) on a TAP in a namespace made by the test, with its
ustar archive on virtio-blk, and asked by the real clients over virtio-net
(curl for www, dig for dns). tcp-echo on virtio is in test_virtio_net.py.

One boot per service and accelerator, several requests each: QEMU's start
costs more than the requests."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.dns.dig import dig, dig_lines
from tests.dns.dns_build import build_image as build_dns
from tests.dns.dns_build import zone_archive
from tests.dns.zones import ZONES
from tests.support.netns import TapNamespace, tap_namespace
from tests.virtio.support import ACCELS, GUEST_IP, booted
from tests.www.guest import SITE_FILES, build_www, make_site

pytestmark = [pytest.mark.slow, pytest.mark.netadmin]

URL = f"http://{GUEST_IP}"


@pytest.fixture(scope="module")
def service_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("virtio-services")
    return {"www": build_www("virtio", root / "www"), "dns": build_dns("virtio", root / "dns")}


def curl(ns: TapNamespace, *args: str) -> bytes:
    """curl's output (-i: status line, headers, body) inside the namespace."""
    proc = subprocess.run(ns.command(["curl", "-sS", "-i", "--max-time", "30", *args]),
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


@pytest.mark.parametrize("accel", ACCELS)
def test_www_serves_its_site_to_curl(service_images: dict[str, Path], accel: str,
                                     tmp_path: Path) -> None:
    site = make_site(tmp_path)
    with tap_namespace() as ns, booted(service_images["www"], accel, ns,
                                       [f"--ipv4={GUEST_IP}/24", "--access-log"], "www: ready",
                                       blocks={"site": str(site)}) as guest:
        page = curl(ns, f"{URL}/")
        assert page.startswith(b"HTTP/1.1 200 OK\r\n"), page
        assert page.endswith(b"\r\n\r\n" + SITE_FILES["index.html"])
        assert curl(ns, f"{URL}/nothing-here").startswith(b"HTTP/1.1 404 ")
        partial = curl(ns, "-r", "100-199", f"{URL}/big.bin")
        assert partial.startswith(b"HTTP/1.1 206 ")
        assert partial.endswith(b"\r\n\r\n" + SITE_FILES["big.bin"][100:200])
        # 1 MiB: 2048 blocks through virtio-blk, ~730 frames through virtio-net
        out = tmp_path / "big.bin"
        ns.run(["curl", "-sS", "--max-time", "60", "-o", str(out), f"{URL}/big.bin"],
               timeout=90)
        assert hashlib.sha256(out.read_bytes()).digest() == \
            hashlib.sha256(SITE_FILES["big.bin"]).digest()
        assert guest.wait_for('"GET /big.bin HTTP/1.1" 200 1048576', 10), guest.text()[-2000:]


@pytest.mark.parametrize("accel", ACCELS)
def test_dns_answers_dig(service_images: dict[str, Path], accel: str, tmp_path: Path) -> None:
    zones = zone_archive(ZONES, tmp_path / "zones.tar")
    with tap_namespace() as ns, booted(service_images["dns"], accel, ns,
                                       [f"--ipv4={GUEST_IP}/24", "--axfr-allow=10.77.0.1/32"],
                                       f"dns: ready {GUEST_IP}/24 port 53",
                                       blocks={"zones": str(zones)}) as guest:
        assert "dns: zone example.org.: 79 records" in guest.text()
        udp = dig(ns, GUEST_IP, "example.org", "A")
        assert udp.status == "NOERROR" and udp.flags == {"qr", "aa"}, udp.text
        assert udp.answer == {"example.org. 3600 in a 192.0.2.1"}, udp.text
        chain = dig(ns, GUEST_IP, "alias.example.org", "A")
        assert chain.answer == {"alias.example.org. 3600 in cname www.example.org.",
                                "www.example.org. 3600 in cname web.example.org.",
                                "web.example.org. 3600 in cname example.org.",
                                "example.org. 3600 in a 192.0.2.1"}, chain.text
        assert dig(ns, GUEST_IP, "nothing.example.org", "A").status == "NXDOMAIN"
        tcp = dig(ns, GUEST_IP, "example.org", "MX", "+tcp")
        assert tcp.answer == {"example.org. 3600 in mx 10 mail.example.org."}, tcp.text
        lines = dig_lines(ns, GUEST_IP, "example.org", "AXFR")
        assert len(lines) == 79 + 1 and lines[0] == lines[-1] and " soa " in lines[0]
