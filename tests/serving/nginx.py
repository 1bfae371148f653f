"""A real nginx (Debian package) on loopback, configured as docs/operations.md describes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# The published-repository rules of docs/operations.md ("nginx"), one server per folder.
SITE = """
    server {{
        listen 127.0.0.1:{port};
        root {root};
        disable_symlinks on;
        autoindex off;
        gzip on;
        gzip_types application/json;
        gzip_vary on;
        gzip_min_length 256;
        location = /metadata/timestamp.json {{
            add_header Cache-Control "no-cache" always;
        }}
        location ~ ^/metadata/(rotate/)?[0-9]+\\.[^/]+\\.json$ {{
            add_header Cache-Control "public, max-age=31536000, immutable" always;
        }}
        location ~ "^/targets/(.+/)?[0-9a-f]{{64}}\\.[^/]+$" {{
            add_header Cache-Control "public, max-age=31536000, immutable" always;
        }}
        location / {{
            return 404;
        }}
    }}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def nginx(workdir: Path, roots: Sequence[Path]) -> Iterator[list[str]]:
    """nginx serving each root on its own loopback port; yields their base URLs."""
    workdir.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in roots]
    sites = "".join(SITE.format(port=port, root=root)
                    for port, root in zip(ports, roots, strict=True))
    temp = workdir / "temp"
    temp.mkdir(exist_ok=True)
    config = workdir / "nginx.conf"
    config.write_text(f"""
user root;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{ application/json json; }}
    default_type application/octet-stream;
    {sites}
}}
""")
    process = subprocess.Popen([NGINX, "-c", str(config), "-p", str(workdir), "-e",
                                str(workdir / "error.log"), "-g", "daemon off;"])
    try:
        for port in ports:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None, (workdir / "error.log").read_text()
                    assert time.monotonic() < deadline, "nginx did not start"
                    time.sleep(0.05)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        process.terminate()
        process.wait(timeout=10)
