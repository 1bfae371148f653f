"""A network namespace with a tap device, made and removed by the test.

The unikernel's tender opens the tap inside the namespace (it runs under
`ip netns exec`); Linux, as the peer, owns the host side address on the
same tap. Nothing leaves the namespace.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class TapNamespace:
    name: str
    tap: str
    host_address: str  # Linux's address on the tap, e.g. "10.77.0.1"
    prefix_len: int

    def command(self, argv: Sequence[str]) -> list[str]:
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: Sequence[str], timeout: float = 60, check: bool = True,
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(argv), capture_output=True, text=True,
                              timeout=timeout, check=check)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextmanager
def tap_namespace(host_address: str = "10.77.0.1", prefix_len: int = 24,
                  mtu: int = 1500) -> Iterator[TapNamespace]:
    name = f"ut{uuid.uuid4().hex[:10]}"
    tap = "tap0"
    _ip("netns", "add", name)
    try:
        ns = TapNamespace(name=name, tap=tap, host_address=host_address, prefix_len=prefix_len)
        ns.run(["ip", "link", "set", "lo", "up"])
        ns.run(["ip", "tuntap", "add", tap, "mode", "tap"])
        ns.run(["ip", "link", "set", tap, "mtu", str(mtu)])
        ns.run(["ip", "addr", "add", f"{host_address}/{prefix_len}", "dev", tap])
        ns.run(["ip", "link", "set", tap, "up"])
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
