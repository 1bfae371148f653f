"""The ctypes mirror of the TCP engine's structs (tests/runtime/tcp_harness.py)
has exactly the C layout of runtime/include/net/tcp.h: runtime/harness/
tcp_layout.c prints sizeof and offsetof as the compiler sees them."""

from __future__ import annotations

import ctypes
import subprocess
from collections.abc import Mapping

import pytest

from tests.runtime.stack_harness import build
from tests.runtime.tcp_harness import Config, ConnInfo, Stats

MIRRORS: dict[str, type[ctypes.Structure]] = {
    "tcp_config": Config,
    "tcp_stats": Stats,
    "tcp_conn_info": ConnInfo,
}


def mirror_layout(mirrors: Mapping[str, type[ctypes.Structure]]) -> list[str]:
    """The same lines as tcp_layout.c, computed from the ctypes classes."""
    lines = []
    for name, struct in mirrors.items():
        lines.append(f"{name} {ctypes.sizeof(struct)}")
        for field, *_ in struct._fields_:
            descriptor = getattr(struct, field)
            lines.append(f"{name}.{field} {descriptor.offset} {descriptor.size}")
    return lines


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    binary = build("tcp-layout", tmp_path_factory.mktemp("layout")) / "tcp_layout"
    return subprocess.run([str(binary)], capture_output=True, text=True, check=True,
                          timeout=30).stdout.splitlines()


def test_ctypes_mirror_matches_the_c_layout(c_layout: list[str]) -> None:
    assert len(c_layout) == 3 + sum(len(s._fields_) for s in MIRRORS.values())
    assert mirror_layout(MIRRORS) == c_layout


def test_a_mirror_with_one_wrong_field_size_is_caught(c_layout: list[str]) -> None:
    class Shifted(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32 if n == "mss" else t) for n, t in Config._fields_]

    assert mirror_layout({**MIRRORS, "tcp_config": Shifted}) != c_layout
