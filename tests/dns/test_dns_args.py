"""The dns unikernel's boot arguments (unikernels/dns/dns_args.c on the
runtime's parsers in runtime/net/bootargs.c), run on the host under ASan and
UBSan by dns_host: exact results and one-line refusals."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ACL_ERROR = "error --axfr-allow must be ADDRESS[/PREFIX],... (at most 16 IPv4 networks)"
IDLE_ERROR = "error --tcp-idle must be a number of seconds from 1 to 3600"


def parse(dns_host: Path, cmdline: str) -> tuple[int, list[str]]:
    proc = subprocess.run([str(dns_host), "args", cmdline], capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.stderr == "", proc.stderr
    return proc.returncode, proc.stdout.splitlines()


@pytest.mark.parametrize(("cmdline", "want"), [
    ("--ipv4=10.77.0.2/24", ["tcp-idle 10"]),
    ("--ipv4=10.77.0.2/24 --axfr-allow=10.77.0.1,192.0.2.77/24 --tcp-idle=30",
     ["tcp-idle 30", "axfr 10.77.0.1/32", "axfr 192.0.2.0/24"]),
    ("--axfr-allow=0.0.0.0/0 --tcp-idle=3600", ["tcp-idle 3600", "axfr 0.0.0.0/0"]),
    ("--axfr-allow=" + ",".join(f"10.0.0.{i}" for i in range(16)),
     ["tcp-idle 10", *(f"axfr 10.0.0.{i}/32" for i in range(16))]),
    # the first of each option counts, as before the shared parser
    ("--tcp-idle=5 --tcp-idle=x", ["tcp-idle 5"]),
])
def test_accepted(dns_host: Path, cmdline: str, want: list[str]) -> None:
    assert parse(dns_host, cmdline) == (0, want)


@pytest.mark.parametrize(("cmdline", "want"), [
    ("--axfr-allow=", ACL_ERROR),
    ("--axfr-allow=10.0.0.0/33", ACL_ERROR),
    ("--axfr-allow=10.0.0.1/", ACL_ERROR),
    ("--axfr-allow=10.0.0.1/024", ACL_ERROR),
    ("--axfr-allow=10.0.0.1,", ACL_ERROR),
    ("--axfr-allow=10.0.0.1,,10.0.0.2", ACL_ERROR),
    ("--axfr-allow=010.0.0.1", ACL_ERROR),
    ("--axfr-allow=" + ",".join(f"10.0.0.{i}" for i in range(17)), ACL_ERROR),
    ("--tcp-idle=0", IDLE_ERROR),
    ("--tcp-idle=3601", IDLE_ERROR),
    ("--tcp-idle=", IDLE_ERROR),
    ("--tcp-idle=-1", IDLE_ERROR),
    ("--tcp-idle=99999999999999", IDLE_ERROR),
])
def test_refused_with_one_line(dns_host: Path, cmdline: str, want: str) -> None:
    assert parse(dns_host, cmdline) == (1, [want])
