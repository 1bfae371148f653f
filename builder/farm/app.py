"""The farm's Celery application: settings shared by dispatcher and workers, the build task.

Settings that make a build survive a crash and count once:
* task_acks_late + task_reject_on_worker_lost: the message is acknowledged only after the
  build finished; a pool process killed mid-build (SIGKILL, OOM) puts it back on the queue,
  and a worker whose main process dies leaves it unacknowledged, so Redis redelivers it after
  the visibility timeout. A task is idempotent (same inputs, same bytes, a fresh signature).
* worker_prefetch_multiplier 1: a worker holds no more tasks than it runs.
* JSON only (no pickle): the broker is not trusted, and results are checked by signature.
* a hard time limit a minute past the build's own wall-clock limit, as a backstop.

Every worker consumes one queue of its own (QUEUE_PREFIX + worker id), so the dispatcher
can send build A and build B of a target to two different workers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from celery import Celery

from builder.farm.protocol import TASK_NAME, BuildSpec
from builder.farm.store import ArtifactStore
from builder.farm.work import FrozenSolo5, WorkerIdentity, frozen_solo5, run_task

QUEUE_PREFIX = "unirepo.worker."
HOSTNAME_PREFIX = "unirepo@"
DEFAULT_VISIBILITY_TIMEOUT = 3600  # seconds; must exceed the longest build (see docs/farm.md)
HARD_LIMIT_MARGIN = 60  # seconds past a task's own build limit before Celery kills it


def queue_of(worker_id: str) -> str:
    return QUEUE_PREFIX + worker_id


def make_app(broker: str, visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT) -> Celery:
    """The Celery app on `broker` (a redis:// or rediss:// URL), also its result backend."""
    app = Celery("unirepo-farm", broker=broker, backend=broker, set_as_current=False)
    transport = {"visibility_timeout": visibility_timeout}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_track_started=True,
        result_extended=False,  # the dispatcher reads status and result only: smaller states
        result_expires=7 * 86400,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        visibility_timeout=visibility_timeout,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_send_sent_event=True,
        worker_send_task_events=True,
    )
    return app


def run_worker(
    broker: str,
    store: ArtifactStore,
    identity: WorkerIdentity,
    *,
    concurrency: int = 1,
    max_build_seconds: int = 3600,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
    loglevel: str = "INFO",
) -> None:
    """Run a Celery worker named unirepo@WORKER_ID on its own queue until it is stopped.

    The signer is loaded before the pool forks, so the pool processes sign
    with it and no passphrase is asked again; the Solo5 build inputs are
    copied once (builder.farm.work.FrozenSolo5) and removed when it stops. A
    task's build limit is the dispatcher's, capped at `max_build_seconds` (the
    broker is not trusted to set it).
    """
    from solo5.recipe import SOLO5_ROOT

    with frozen_solo5(SOLO5_ROOT) as solo5:
        _serve(broker, store, identity, solo5, concurrency, max_build_seconds,
               visibility_timeout, loglevel)


def _serve(
    broker: str,
    store: ArtifactStore,
    identity: WorkerIdentity,
    solo5: FrozenSolo5,
    concurrency: int,
    max_build_seconds: int,
    visibility_timeout: int,
    loglevel: str,
) -> None:
    app = make_app(broker, visibility_timeout)

    def build(spec_document: Any) -> dict[str, Any]:
        spec = BuildSpec.from_json(spec_document)
        if spec.time_limit > max_build_seconds:
            spec = replace(spec, time_limit=max_build_seconds)
        return run_task(spec, store, identity, solo5).to_json()

    app.task(
        name=TASK_NAME,
        acks_late=True,
        reject_on_worker_lost=True,
        time_limit=max_build_seconds + HARD_LIMIT_MARGIN,
    )(build)
    app.worker_main(
        [
            "worker",
            f"--hostname={HOSTNAME_PREFIX}{identity.worker_id}",
            f"--queues={queue_of(identity.worker_id)}",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            "--task-events",
        ]
    )
