"""NSD (Debian package nsd) as the reference server: run by the test as its
own foreground process with a generated nsd.conf, never as the system
service. Response rate limiting is off (Debian's NSD limits each client
network to 200 responses a second by default): the tests and the benchmark
send more than that from one address."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.dns.wire import query
from tests.support.netns import TapNamespace

NSD_CONF = """server:
  ip-address: {address}@{port}
  username: ""
  chroot: ""
  zonesdir: "{directory}"
  pidfile: ""
  zonelistfile: ""
  xfrdfile: ""
  logfile: "{directory}/nsd.log"
  verbosity: 1
  server-count: 1
  minimal-responses: yes
  refuse-any: no
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
"""
ZONE_CONF = """zone:
  name: {name}
  zonefile: "{directory}/{file}"
  provide-xfr: {axfr} NOKEY
"""


def write_config(directory: Path, zones: dict[str, str], address: str, port: int,
                 axfr_client: str) -> Path:
    text = NSD_CONF.format(address=address, port=port, directory=directory)
    for file, zone_text in zones.items():
        (directory / file).write_text(zone_text)
        text += ZONE_CONF.format(name=file.removesuffix(".zone"), directory=directory, file=file,
                                 axfr=axfr_client)
    config = directory / "nsd.conf"
    config.write_text(text)
    return config


@contextmanager
def running_nsd(ns: TapNamespace, directory: Path, zones: dict[str, str], address: str,
                port: int, axfr_client: str) -> Iterator[subprocess.Popen[bytes]]:
    """nsd -d in the namespace, serving zones on address:port, until the block ends."""
    config = write_config(directory, zones, address, port, axfr_client)
    check = subprocess.run(["nsd-checkconf", str(config)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(ns.command(["nsd", "-d", "-c", str(config)]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(ns, address, port, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_until_answering(ns: TapNamespace, address: str, port: int,
                         proc: subprocess.Popen[bytes]) -> None:
    probe = query("example.org", "SOA").hex()
    script = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.settimeout(0.5)\n"
              f"s.sendto(bytes.fromhex('{probe}'),('{address}',{port}))\n"
              "s.recv(512)\n")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "nsd exited at start"
        if ns.run(["python3", "-c", script], check=False, timeout=10).returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"nsd does not answer on {address}:{port}")


def free_port() -> int:
    """A port number free on this machine (the namespace's loopback is empty anyway)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
