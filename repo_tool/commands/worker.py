"""`repo-tool worker`: a build-farm worker (Celery on a Redis broker), see docs/farm.md.

Each task is one sandboxed build of one target under one set of conditions;
the result is a verdict signed by this worker's key (--key), with the worker
id as the builder. Inputs and the image travel by sha256 through --store.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import click

from builder.errors import BuildError
from repo_tool.commands.keys import passphrase_options, passphrase_source

WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def register(group: click.Group) -> None:
    group.add_command(worker)


@click.command("worker")
@click.option("--broker", required=True, metavar="URL",
              help="Redis broker, e.g. redis://:PASSWORD@HOST:6379/0 (rediss:// for TLS).")
@click.option("--key", "key_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="This worker's private key: signs every build result.")
@click.option("--store", "store_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Artifact store directory shared with the dispatcher (see docs/farm.md).")
@click.option("--worker-id", default=socket.gethostname(), show_default=True,
              help="Name recorded as the builder in every result, and its queue.")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Builds run at once.")
@click.option("--max-build-seconds", default=3600, show_default=True,
              type=click.IntRange(10, 86400),
              help="Cap on any task's build time limit (the broker is not trusted to set it).")
@click.option("--visibility-timeout", default=3600, show_default=True,
              type=click.IntRange(10, 7 * 86400),
              help="Seconds before Redis redelivers an unacknowledged task; the same value "
                   "on every worker and dispatcher, longer than any build.")
@passphrase_options
def worker(
    broker: str,
    key_path: Path,
    store_dir: Path,
    worker_id: str,
    concurrency: int,
    max_build_seconds: int,
    visibility_timeout: int,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    insecure_plaintext: bool,
) -> None:
    """Run a build-farm worker: one sandboxed build per task, results signed with --key."""
    from builder.farm.app import run_worker
    from builder.farm.store import ArtifactStore
    from builder.farm.work import WorkerIdentity
    from builder.sandbox import missing_programs
    from signing.keys import load_signer

    if not WORKER_ID.fullmatch(worker_id):
        raise click.BadParameter("letters, digits, '.', '_' and '-' only", param_hint="--worker-id")
    if not broker.startswith(("redis://", "rediss://", "redis+socket://")):
        raise click.BadParameter("a redis://, rediss:// or redis+socket:// URL",
                                 param_hint="--broker")
    missing = missing_programs()
    if missing:
        raise BuildError(f"the worker needs {', '.join(missing)} (install: make deps)")
    signer = load_signer(key_path, passphrase_source(passphrase_env, passphrase_file,
                                                     insecure_plaintext))
    store_dir.mkdir(parents=True, exist_ok=True)
    click.echo(f"worker {worker_id}: key {signer.public_key.keyid[:16]}, store {store_dir}",
               err=True)
    run_worker(
        broker,
        ArtifactStore(store_dir),
        WorkerIdentity(signer, worker_id),
        concurrency=concurrency,
        max_build_seconds=max_build_seconds,
        visibility_timeout=visibility_timeout,
    )
