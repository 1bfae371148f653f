"""TCP bulk throughput and ping RTT: the tcp-echo unikernel (our stack) on
hvt and spt over a tap, against Linux-to-Linux over a veth pair, in one run.

Usage: .venv/bin/python bench/net_throughput.py [--size-mb 50] [--runs 3]
                                                 [--output bench/results/net.md]
                                                 [--baseline-tree DIR]

Needs root (namespaces, tap, veth) and /dev/kvm for hvt. For each target
the unikernel boots with its discard and source services; the same Linux
client (tests/runtime/tcp_echo_client.py, one TCP connection, 256 KiB
reads/writes) then measures
  - Linux -> unikernel: SIZE bytes into the discard service, timed until the
    service's FIN confirms it read them all;
  - unikernel -> Linux: SIZE bytes read from the source service;
  - ping RTT: 200 echo requests 10 ms apart (`ping -q`, average).
The reference is a Python server with the same two services in a second
namespace over a veth pair, measured with the same client. Every guest and
the reference stay up for the whole run and the measurements are
interleaved (hvt, spt, Linux, hvt, spt, Linux, ...), each with the load
average at its end; min and median of --runs runs are reported, with ratios
of medians unikernel / Linux.

--baseline-tree DIR (a checkout of an older commit, e.g. a git worktree)
adds its tcp-echo spt image, built from that tree and run by this tree's
tender, as one more interleaved peer: an A/B of the guest side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.runtime.unikernel import booted, build_unikernel  # noqa: E402
from tests.support.netns import tap_namespace  # noqa: E402

CLIENT = REPO / "tests" / "runtime" / "tcp_echo_client.py"
GUEST_IP = "10.77.0.2"
DISCARD_PORT, SOURCE_PORT = 9, 19
SOURCE_PERIOD = 251


@dataclass
class Peer:
    label: str
    command: list[str]   # argv prefix that enters the client's namespace
    host: str
    rx: list[float] = field(default_factory=list)    # Linux -> peer, MB/s (10^6 bytes)
    tx: list[float] = field(default_factory=list)    # peer -> Linux
    load: list[float] = field(default_factory=list)  # 1-minute load after each run
    rtt_ms: float = 0.0


def run_client(command: list[str], mode: str, host: str, port: int, size: int) -> float:
    """MB/s for one client run (argv prefix `command` enters the namespace)."""
    out = subprocess.run([*command, sys.executable, str(CLIENT), mode, host, str(port),
                          str(size)], capture_output=True, text=True, timeout=600, check=True)
    data = json.loads(out.stdout)
    if not data["intact"] or data["bytes"] != size:
        raise SystemExit(f"{mode} to {host}: transfer incomplete: {out.stdout}")
    return size / float(data["seconds"]) / 1e6


def ping_rtt(command: list[str], host: str) -> float:
    out = subprocess.run([*command, "ping", "-q", "-c", "200", "-i", "0.01", "-W", "2", host],
                         capture_output=True, text=True, timeout=120, check=False).stdout
    match = re.search(r"= [\d.]+/([\d.]+)/", out)
    if not match:
        raise SystemExit(f"ping {host} failed: {out}")
    return float(match.group(1))


def measure_once(peer: Peer, size: int) -> None:
    peer.rx.append(run_client(peer.command, "discard", peer.host, DISCARD_PORT, size))
    peer.tx.append(run_client(peer.command, "source", peer.host, SOURCE_PORT, size))
    peer.load.append(os.getloadavg()[0])


# -- the Linux reference peer -------------------------------------------------

def serve(ports: tuple[int, int]) -> None:
    """Discard and source services on 0.0.0.0 (run inside the server namespace)."""
    pattern = bytes(k % SOURCE_PERIOD for k in range(SOURCE_PERIOD)) * 2200

    def discard(conn: socket.socket) -> None:
        with conn:
            while conn.recv(1 << 18):
                pass

    def source(conn: socket.socket) -> None:
        offset = 0
        with conn:
            try:
                while True:
                    start = offset % SOURCE_PERIOD
                    offset += conn.send(pattern[start:start + 256 * 1024])
            except OSError:
                return

    def listen(port: int, handler: Callable[[socket.socket], None]) -> None:
        srv = socket.create_server(("0.0.0.0", port), reuse_port=True)
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=listen, args=(ports[0], discard), daemon=True).start()
    threading.Thread(target=listen, args=(ports[1], source), daemon=True).start()
    print("serving", flush=True)
    threading.Event().wait()


@contextmanager
def veth_pair() -> Iterator[tuple[list[str], list[str], str]]:
    """Client and server namespaces joined by a veth pair; yields their
    command prefixes and the server address."""
    tag = uuid.uuid4().hex[:8]
    client_ns, server_ns = f"bc{tag}", f"bs{tag}"
    ip = ["ip"]
    try:
        for ns in (client_ns, server_ns):
            subprocess.run([*ip, "netns", "add", ns], check=True)
        subprocess.run([*ip, "link", "add", f"va{tag}", "netns", client_ns, "type", "veth",
                        "peer", "name", f"vb{tag}", "netns", server_ns], check=True)
        for ns, dev, addr in ((client_ns, f"va{tag}", "10.78.0.1/24"),
                              (server_ns, f"vb{tag}", "10.78.0.2/24")):
            run = ["ip", "netns", "exec", ns]
            subprocess.run([*run, "ip", "link", "set", "lo", "up"], check=True)
            subprocess.run([*run, "ip", "addr", "add", addr, "dev", dev], check=True)
            subprocess.run([*run, "ip", "link", "set", dev, "up"], check=True)
        yield (["ip", "netns", "exec", client_ns], ["ip", "netns", "exec", server_ns],
               "10.78.0.2")
    finally:
        for ns in (client_ns, server_ns):
            subprocess.run([*ip, "netns", "del", ns], capture_output=True, check=False)


@contextmanager
def linux_reference() -> Iterator[Peer]:
    with veth_pair() as (client_cmd, server_cmd, server_ip):
        server = subprocess.Popen([*server_cmd, sys.executable, __file__, "--serve"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "serving":
                raise SystemExit("the Linux reference server did not start")
            yield Peer("Linux veth (reference)", client_cmd, server_ip)
        finally:
            server.kill()
            server.wait()


def build_baseline(tree: Path, out: Path) -> tuple[Path, str]:
    """tcp-echo for spt built by the tree at `tree` with its own runtime and
    bindings; returns the image and the tree's short commit."""
    code = ("import sys; from pathlib import Path; "
            "from tests.runtime.unikernel import build_unikernel; "
            "print(build_unikernel('tcp-echo', 'spt', Path(sys.argv[1]), with_tcp=True))")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    built = subprocess.run([sys.executable, "-c", code, str(out)], cwd=tree, env=env,
                           capture_output=True, text=True, check=True)
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return Path(built.stdout.strip().splitlines()[-1]), commit


@contextmanager
def unikernel(target: str, image: Path, mtu: int = 1500, note: str = "") -> Iterator[Peer]:
    args = [f"--ipv4={GUEST_IP}/24", f"--discard-port={DISCARD_PORT}",
            f"--source-port={SOURCE_PORT}"]
    label = f"tcp-echo on {target} (tap" + (f", MTU {mtu}" if mtu != 1500 else "") + note + ")"
    with tap_namespace(mtu=mtu) as ns, booted(image, ns, args, "tcp-echo: ready"):
        yield Peer(label, ns.command([]), GUEST_IP)


def median(values: list[float]) -> float:
    return statistics.median(values)


def render(peers: list[Peer], reference: Peer, size: int, runs: int, command: str) -> str:
    host = f"{platform.machine()}, Linux {platform.release()}"
    lines = [
        "# Network benchmark: TCP bulk throughput and ping RTT",
        "",
        f"Command: `{command}`",
        "",
        f"Host: {host}; 2 CPUs shared with other work. One TCP connection per transfer of "
        f"{size // 10**6} MB; {runs} runs per peer, interleaved "
        f"({', '.join(p.label.split(' (')[0] for p in [*peers, reference])}, again ...), the "
        "1-minute load average recorded after each; ping: average of 200 requests 10 ms apart.",
        "",
        "The unikernel is `tcp-echo` (this runtime's stack, 128 KiB TCP buffers, `ack_batch` "
        "on) with its discard and source services, on a tap in a namespace. The reference is "
        "Linux to Linux over a veth pair between two namespaces, measured in the same run with "
        "the same Python client against a Python server with the same two services. Goal "
        "(issue 14): >= 0.25x Linux veth on spt; hvt reported. The image negotiates the "
        "virtio-net header offload (docs/net-offload.md: TSO and merged segments of up to "
        "64 KiB per tap crossing, on hvt per VM exit). A `baseline image` row is tcp-echo "
        "built from an older tree (the commit named), run by this tree's tender.",
        "",
        "| peer | Linux → peer MB/s min / median | peer → Linux MB/s min / median "
        "| ping RTT (ms) | rx ratio | tx ratio | RTT ratio | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in [*peers, reference]:
        lines.append(
            f"| {p.label} | {min(p.rx):.1f} / {median(p.rx):.1f} "
            f"| {min(p.tx):.1f} / {median(p.tx):.1f} | {p.rtt_ms:.3f} "
            f"| {median(p.rx) / median(reference.rx):.3f} "
            f"| {median(p.tx) / median(reference.tx):.3f} "
            f"| {p.rtt_ms / reference.rtt_ms:.2f} "
            f"| {', '.join(f'{x:.1f}' for x in p.load)} |")
    lines += [
        "",
        "Ratios are of medians, unikernel / Linux (throughput: higher is better; RTT: lower "
        "is better). A row marked MTU 9000 is the same image on a tap with jumbo frames "
        "(the MSS follows the MTU), against the same reference (veth, MTU 1500, whose "
        "64 KiB GSO segments make its MTU matter little); the goal is about the 1500 rows.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default="hvt,spt")
    parser.add_argument("--jumbo-targets", default="hvt,spt",
                        help="targets also measured on a tap with MTU 9000 (MSS 8,960)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "net.md")
    parser.add_argument("--notes", type=Path,
                        default=REPO / "bench" / "results" / "net-reading.md",
                        help="a file whose text is appended to the results (the reading; "
                        "default bench/results/net-reading.md, if it exists)")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="also measure the spt tcp-echo image built from this tree")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve:
        serve((DISCARD_PORT, SOURCE_PORT))
        return
    size = opts.size_mb * 10**6
    targets = [t for t in opts.targets.split(",") if t]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        peers = []
        for target in targets:
            image = build_unikernel("tcp-echo", target, Path(tmp) / target, with_tcp=True)
            peers.append(stack.enter_context(unikernel(target, image)))
            if target in opts.jumbo_targets.split(","):
                peers.append(stack.enter_context(unikernel(target, image, mtu=9000)))
        if opts.baseline_tree is not None:
            image, commit = build_baseline(opts.baseline_tree.resolve(), Path(tmp) / "baseline")
            peers.append(stack.enter_context(unikernel("spt", image,
                                                       note=f", baseline image {commit}")))
        reference = stack.enter_context(linux_reference())
        for run in range(opts.runs):
            for peer in [*peers, reference]:
                start = time.monotonic()
                measure_once(peer, size)
                print(f"run {run + 1}: {peer.label}: rx {peer.rx[-1]:.1f} tx {peer.tx[-1]:.1f} "
                      f"MB/s, load {peer.load[-1]:.1f} ({time.monotonic() - start:.1f} s)",
                      flush=True)
        for peer in [*peers, reference]:
            peer.rtt_ms = ping_rtt(peer.command, peer.host)
    command = ".venv/bin/python bench/net_throughput.py " + " ".join(sys.argv[1:])
    text = render(peers, reference, size, opts.runs, command.strip())
    if opts.notes.exists():
        text += "\n" + opts.notes.read_text()
    tmp_out = opts.output.with_suffix(".tmp")
    tmp_out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out.write_text(text)
    tmp_out.replace(opts.output)
    print(text)


if __name__ == "__main__":
    main()
