"""`repo-tool demo`, the operator's network services: ping, www and dns on spt.

Each is fetched through the verifying client, booted on a tap in a network namespace of
its own (deleted at the demo's cleanup) and checked with a real client: ping, curl, dig.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from repo_tool.demo import (
    DNS_ANSWER,
    DNS_PACKAGE,
    DNS_QUESTION,
    DNS_ZONE,
    DNS_ZONE_FILE,
    GUEST_ADDRESS,
    HOST_ADDRESS,
    PING_PACKAGE,
    WWW_PACKAGE,
    last_line,
)
from solo5.launcher import tender_command

if TYPE_CHECKING:
    from repo_tool.commands.demo import Demo

GUEST_TIMEOUT = 30.0
PING_COUNT = 3
WWW_PAGE = "<!doctype html><title>unirepo</title><p>served by www from a ustar archive</p>\n"


def _netns_missing() -> str | None:
    if shutil.which("ip") is None or shutil.which("ping") is None:
        return "ip or ping is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist"
    probe = f"demoprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def ping(demo: Demo) -> None:
    what = "boot ping on spt on a tap in a namespace, ping it"
    inside = service_on_tap(demo, what, PING_PACKAGE, "ping", "ping: ready", [])
    if inside is None:
        return
    result = demo.run([*inside, "ping", "-c", str(PING_COUNT), "-i", "0.2", "-W", "3",
                       GUEST_ADDRESS], check=False, timeout=60)
    received = f"{PING_COUNT} packets transmitted, {PING_COUNT} received"
    if received in result.stdout:
        rtt = last_line(result.stdout)
        demo.check(what, "ok", f"{PING_COUNT}/{PING_COUNT} echo replies from "
                   f"{GUEST_ADDRESS}; {rtt}")
    else:
        demo.check(what, "failed", last_line(result.stdout or result.stderr))

def www(demo: Demo) -> None:
    what = "boot www on spt with a site archive, fetch a page with curl"

    def site() -> dict[str, Path]:  # the operator's site, packed as docs/www.md tells them
        return {"site": operator_archive(demo, "public", {"index.html": WWW_PAGE}, "site.tar",
                                         ["."])}

    inside = service_on_tap(demo, what, WWW_PACKAGE, "curl", "www: ready", ["--access-log"],
                            site)
    if inside is None:
        return
    result = demo.run([*inside, "curl", "-sS", "-i", "--max-time", "10",
                       f"http://{GUEST_ADDRESS}/"], check=False, timeout=30)
    # text mode: curl's CRLFs arrive as newlines
    status = result.stdout.splitlines()[0] if result.stdout else ""
    if result.returncode == 0 and status == "HTTP/1.1 200 OK" and \
            result.stdout.endswith(WWW_PAGE):
        demo.check(what, "ok", f"{status}, {len(WWW_PAGE)} bytes of index.html from "
                   "operator/site.tar")
    else:
        demo.check(what, "failed", last_line(result.stderr or result.stdout))

def dns(demo: Demo) -> None:
    what = "boot dns on spt with a zone archive, query it with dig"

    def zones() -> dict[str, Path]:  # one <zone>.zone file each, packed as docs/dns.md says
        return {"zones": operator_archive(demo, "zones", {DNS_ZONE_FILE: DNS_ZONE},
                                          "zones.tar", [DNS_ZONE_FILE])}

    inside = service_on_tap(demo, what, DNS_PACKAGE, "dig", "dns: ready", [], zones)
    if inside is None:
        return
    question = " ".join(DNS_QUESTION)
    result = demo.run([*inside, "dig", f"@{GUEST_ADDRESS}", "+short", "+tries=2",
                       "+time=3", *DNS_QUESTION], check=False, timeout=60)
    if result.returncode == 0 and result.stdout.split() == [DNS_ANSWER]:
        demo.check(what, "ok", f"{question} -> {DNS_ANSWER} from {GUEST_ADDRESS}")
    else:
        answer = last_line(result.stdout or result.stderr)
        demo.check(what, "failed", f"dig {question}: {answer}")

def service_on_tap(
    demo: Demo, what: str, package: str, client: str, ready: str, args: list[str],
    blocks: Callable[[], dict[str, Path]] = dict,
) -> list[str] | None:
    """Fetch `package`'s spt image, boot it at GUEST_ADDRESS on a tap in a new namespace
    with `args` and the block devices `blocks` makes, and wait for `ready`: the argv prefix
    that runs `client` in that namespace, or None (the check recorded) when the step
    cannot go on."""
    image = network_image(demo, what, package, client)
    if image is None:
        return None
    devices = blocks()
    inside = tap_namespace(demo)
    if not start_guest(demo, what, inside, image, ready, blocks=devices,
                       args=[f"--ipv4={GUEST_ADDRESS}/24", *args]):
        return None
    return inside

def operator_archive(demo: Demo, folder: str, files: dict[str, str], archive: str,
                     members: list[str]) -> Path:
    """The operator's `files` written to operator/FOLDER and packed (`members` of it) into
    the ustar archive operator/ARCHIVE, which is returned."""
    source = demo.workdir / "operator" / folder
    source.mkdir()
    for name, text in files.items():
        (source / name).write_text(text)
    demo.run(["tar", "--format=ustar", "-cf", f"operator/{archive}", "-C", f"operator/{folder}",
              *members])
    return demo.workdir / "operator" / archive

def network_image(demo: Demo, what: str, package: str, client: str) -> Path | None:
    """The spt image of `package`, fetched through the verifying client, for a step
    that talks to it with `client` on a tap in a namespace; None (and the check
    recorded) when the step cannot run."""
    missing = _netns_missing() or (
        None if shutil.which(client) else f"{client} is not installed")
    if missing:
        demo.check(what, "skipped", missing)
        return None
    released = next((o for o in demo.outcomes if o.name == package), None)
    if released is None:
        demo.check(what, "skipped", f"the package index has no {package}")
        return None
    if released.decision != "published":
        demo.check(what, "failed", f"{package} was not published: {released.reason}")
        return None
    fetched = demo.fetch("spt", "first release", package)
    return demo.workdir / str(fetched["written_to"])

def tap_namespace(demo: Demo) -> list[str]:
    """A new namespace with tap0 at HOST_ADDRESS (deleted at cleanup);
    the argv prefix that runs a command inside it."""
    namespace = f"demo{uuid.uuid4().hex[:8]}"
    demo.run(["ip", "netns", "add", namespace])
    demo.cleanups.append(("netns", namespace))
    inside = ["ip", "netns", "exec", namespace]
    for argv in (["ip", "link", "set", "lo", "up"],
                 ["ip", "tuntap", "add", "tap0", "mode", "tap"],
                 ["ip", "addr", "add", f"{HOST_ADDRESS}/24", "dev", "tap0"],
                 ["ip", "link", "set", "tap0", "up"]):
        demo.run([*inside, *argv])
    return inside

def start_guest(demo: Demo, what: str, inside: list[str], image: Path, ready: str,
                blocks: dict[str, Path], args: list[str]) -> bool:
    """Boot `image` on tap0 in the namespace (stopped at cleanup) and wait for its
    console to say `ready`; False (and the check recorded) when it never does."""
    argv = tender_command(image, nets={"service": "tap0"},
                          blocks={name: str(path) for name, path in blocks.items()},
                          args=args)
    demo.console.print(f"[dim]$ {shlex.join([*inside, *argv])} &[/]", highlight=False,
                       soft_wrap=True)
    guest = subprocess.Popen([*inside, *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
    demo.cleanups.append(("process", guest))
    console = read_until(guest, ready, GUEST_TIMEOUT)
    if ready not in console:
        demo.check(what, "failed", f"the guest never said {ready!r}: {last_line(console)}")
        return False
    return True

def read_until(proc: subprocess.Popen[bytes], text: str, timeout: float) -> str:
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select([proc.stdout], [], [], left)
        if not readable:
            break
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        seen += chunk
    return seen.decode(errors="replace")
