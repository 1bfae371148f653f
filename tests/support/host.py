"""What this host can do: KVM, network namespaces. Used for skip reasons."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import uuid


@functools.cache
def kvm_unavailable_reason() -> str | None:
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm does not exist on this machine"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not readable and writable by this user"
    return None


@functools.cache
def netadmin_unavailable_reason() -> str | None:
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist on this machine"
    probe = f"probe{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace (CAP_NET_ADMIN): {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@functools.cache
def sandbox_unavailable_reason() -> str | None:
    from builder.sandbox import missing_programs

    missing = missing_programs()
    if os.geteuid() != 0:
        missing.insert(0, "root")
    if missing:
        return f"the build sandbox needs {', '.join(missing)}"
    return None
