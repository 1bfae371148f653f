"""Static web serving: the www unikernel (spt, hvt) against nginx, with wrk.

Usage: .venv/bin/python bench/www.py [--seconds 10] [--rounds 3]
                                     [--output bench/results/www.md]

Needs root (namespaces, tap, veth), nginx and wrk (Makefile DEB_PACKAGES)
and /dev/kvm for hvt. wrk runs in one namespace that holds the unikernels'
taps (www on spt at 10.77.0.2, on hvt in a second namespace reached the
same way) and a veth pair to a third namespace where nginx runs (one
worker, sendfile on, access_log off, keepalive_requests 1000000) at
10.78.0.2. All serve the same files: a 5.5 KB page and a 1 MiB file, from
the same ustar archive (extracted for nginx). Every measurement is
`wrk -t1 -c32 -d<seconds>s --latency`; runs are interleaved www-spt, nginx,
www-hvt, nginx, ... per file for --rounds rounds, and each records the load
average. Reported: requests/s (min and median), p99 latency (median), the
ratio of medians to nginx, and socket errors.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.netns import TapNamespace, tap_namespace  # noqa: E402
from tests.www.guest import booted_www, build_www  # noqa: E402

PAGE_SIZE = 5632          # 5.5 KB
BIG_SIZE = 1 << 20
FILES = {"page.html": PAGE_SIZE, "big.bin": BIG_SIZE}
NGINX_IP = "10.78.0.2"
CLIENT_VETH_IP = "10.78.0.1"


@dataclass
class Run:
    rps: float
    p99_ms: float
    errors: int
    load: float


@dataclass
class Series:
    label: str
    runs: dict[str, list[Run]] = field(default_factory=lambda: {name: [] for name in FILES})


def make_site(root: Path) -> Path:
    public = root / "public"
    public.mkdir(parents=True)
    (public / "page.html").write_bytes(bytes(b"<p>" + b"x" * (PAGE_SIZE - 8) + b"</p>\n"))
    (public / "big.bin").write_bytes(bytes(k % 251 for k in range(BIG_SIZE)))
    archive = root / "site.tar"
    subprocess.run(["tar", "--format=ustar", "-cf", str(archive), "-C", str(public), "."],
                   check=True)
    return archive


def seconds_of(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"wrk printed a latency this script does not read: {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(ns: TapNamespace, url: str, seconds: int) -> Run:
    load = os.getloadavg()[0]
    out = ns.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", url],
                 timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    try:
        # the Latency Distribution line, not a "+/- Stdev" column that ends in 99%
        p99 = seconds_of(re.search(r"^\s*99%\s+(\S+)", out, re.M)[1]) * 1000  # type: ignore[index]
    except ValueError as error:
        raise ValueError(f"{url}: {error}; wrk said:\n{out}") from None
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Run(rps, p99, errors, load)


@contextmanager
def nginx_over_veth(client: TapNamespace, root: Path, archive: Path) -> Iterator[None]:
    """nginx in its own namespace, reached from `client` over a veth pair."""
    server = f"ng{uuid.uuid4().hex[:10]}"
    docroot = root / "docroot"
    docroot.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(docroot)], check=True)
    conf = root / "nginx.conf"
    conf.write_text(f"""user root; daemon off; worker_processes 1; pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types; default_type application/octet-stream;
    access_log off; sendfile on; keepalive_requests 1000000;
    client_body_temp_path {root}; proxy_temp_path {root}; fastcgi_temp_path {root};
    uwsgi_temp_path {root}; scgi_temp_path {root};
    server {{ listen {NGINX_IP}:80; root {docroot}; }}
}}
""")
    subprocess.run(["ip", "netns", "add", server], check=True)
    proc = None
    try:
        subprocess.run(["ip", "link", "add", "vc0", "netns", client.name, "type", "veth",
                        "peer", "name", "vs0", "netns", server], check=True)
        client.run(["ip", "addr", "add", f"{CLIENT_VETH_IP}/24", "dev", "vc0"])
        client.run(["ip", "link", "set", "vc0", "up"])
        inside = ["ip", "netns", "exec", server]
        for argv in (["ip", "link", "set", "lo", "up"],
                     ["ip", "addr", "add", f"{NGINX_IP}/24", "dev", "vs0"],
                     ["ip", "link", "set", "vs0", "up"]):
            subprocess.run([*inside, *argv], check=True)
        proc = subprocess.Popen([*inside, "nginx", "-p", str(root), "-c", str(conf)])
        for _ in range(100):
            if client.run(["curl", "-s", "-o", "/dev/null", f"http://{NGINX_IP}/page.html"],
                          check=False).returncode == 0:
                break
            time.sleep(0.1)
        yield
    finally:
        if proc is not None:
            proc.terminate()  # not SIGKILL: the master then stops its worker, not orphans it
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["ip", "netns", "del", server], capture_output=True)


def render(series: list[Series], nginx: Series, seconds: int, rounds: int) -> str:
    lines = [
        "# Static web serving: www unikernel vs nginx (wrk)\n",
        f"`.venv/bin/python bench/www.py --seconds {seconds} --rounds {rounds}` on "
        f"{platform.node()} ({os.cpu_count()} CPUs), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n",
        "`wrk -t1 -c32 --latency` over keep-alive connections; www on a tap (`--mem=32`, "
        "defaults: 128 connections, 8 MiB file cache), nginx 1 worker with sendfile in a "
        "namespace over veth; runs "
        "interleaved www-spt, nginx, www-hvt, nginx per file. Goal (issue 14): >= 1.0x "
        "nginx's requests/s on spt; hvt reported.\n",
        "| server | file | requests/s min | median | ratio to nginx | p99 ms (median) "
        "| socket errors | load avg during runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    nginx_median = {name: statistics.median(r.rps for r in nginx.runs[name]) for name in FILES}
    for s in [*series, nginx]:
        for name in FILES:
            runs = s.runs[name]
            median = statistics.median(r.rps for r in runs)
            lines.append(
                f"| {s.label} | {name} ({FILES[name]} B) | {min(r.rps for r in runs):,.0f} | "
                f"{median:,.0f} | {median / nginx_median[name]:.2f}x | "
                f"{statistics.median(r.p99_ms for r in runs):.2f} | "
                f"{sum(r.errors for r in runs)} | "
                f"{', '.join(f'{r.load:.1f}' for r in runs)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "www.md")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool, path="/usr/sbin:/usr/bin") is None:
            raise SystemExit(f"{tool} is not installed (make deps)")
    targets = ["spt"] + (["hvt"] if os.access("/dev/kvm", os.R_OK | os.W_OK) else [])
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        archive = make_site(root / "site")
        images = {t: build_www(t, root / f"build-{t}") for t in targets}
        client = stack.enter_context(tap_namespace())
        # each unikernel has its own namespace with a tap; wrk reaches the
        # hvt one through its own namespace (same addresses, separate links)
        spaces = {"spt": client}
        if "hvt" in images:
            spaces["hvt"] = stack.enter_context(tap_namespace())
        for target, ns in spaces.items():
            stack.enter_context(booted_www(images[target], ns, archive, mem_mb=32))
        (root / "nginx").mkdir()
        stack.enter_context(nginx_over_veth(client, root / "nginx", archive))
        series = [Series(f"www {t}") for t in targets]
        nginx = Series("nginx")
        for _ in range(args.rounds):
            for name in FILES:
                for s, target in zip(series, targets, strict=True):
                    s.runs[name].append(wrk(spaces[target], f"http://10.77.0.2/{name}",
                                            args.seconds))
                    nginx.runs[name].append(wrk(client, f"http://{NGINX_IP}/{name}",
                                                args.seconds))
        text = render(series, nginx, args.seconds, args.rounds)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
