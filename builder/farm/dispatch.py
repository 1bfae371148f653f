"""The dispatcher: build A and build B of every target on workers, results bound and downloaded.

`Farm.run(releases)` uploads each release's inputs to the artifact store,
sends build A and build B of each target to two different live workers
(round robin; both to the one worker when only one answers), and waits,
reporting progress; it sleeps until the result backend publishes a state change
of one of its tasks (Redis pub/sub), then reads every undecided result in one
MGET. Each result from the broker goes through bind_result:
a refused one (unsigned, a key not configured, another task, forged) is
logged and its task sent again to another worker (at most MAX_ATTEMPTS
times). A worker that stops answering pings while it holds tasks is taken
as lost and its tasks are sent to the workers left; a late result of the
abandoned attempt is never read, so each build counts once. The image of an
accepted result is downloaded by hash and re-hashed by the store.

The caller hands the accepted signed results to builder.gate.gate() with a
policy trusting exactly the worker keys; the dispatcher decides nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError
from securesystemslib.signer import Key

from builder.farm.app import HARD_LIMIT_MARGIN, HOSTNAME_PREFIX, make_app, queue_of
from builder.farm.errors import FarmError
from builder.farm.protocol import TASK_NAME, BoundResult, BuildSpec, ResultRefused, bind_result
from builder.farm.store import ArtifactStore, StoreError, sha256_hex
from builder.status import BuildStatus

MAX_ATTEMPTS = 3  # sends of one build (first one included) before it is given up
PING_EVERY = 2.0  # seconds between liveness checks of the workers holding tasks
MISSED_PINGS = 2  # consecutive unanswered pings that make a worker lost
# The dispatcher sleeps on Redis pub/sub: the result backend publishes every state it stores
# (STARTED, SUCCESS, FAILURE) on the task's key, and each publication wakes one MGET of every
# undecided build's result. Without a publication (a write that was not published, such as a
# forgery, or one missed while reconnecting) the MGET still runs every POLL_EVERY seconds.
POLL_EVERY = 1.0
BROKER_CHECK_EVERY = 1.0  # seconds between checks that Redis was not restarted (its run_id)

BROKER_ERRORS = (RedisError, OperationalError, OSError)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FarmRelease:
    """A staged release as the farm needs it: bytes of its inputs, and its targets."""

    package: str
    version: str
    manifest: bytes
    archive: bytes
    dependencies: tuple[tuple[bytes, bytes], ...]  # (manifest, archive) in resolved order
    targets: tuple[str, ...]


@dataclass
class Build:
    """One build (A or B of a target) and the attempts made at it."""

    spec: BuildSpec
    worker: str = ""
    celery_id: str = ""
    state: str = "queued"  # queued | running | done | failed | given up
    attempts: int = 0
    tried: set[str] = field(default_factory=set)
    result: BoundResult | None = None
    image: bytes | None = None
    error: str | None = None
    seen: set[str] = field(default_factory=set)  # digests of refused documents already logged
    pinned: bool = False  # a blame probe: it must run on its worker, never elsewhere
    fetch_image: bool = True  # download the image (a probe needs only its signed hash)
    sent_at: float = 0.0  # monotonic time of the last send
    done_at: float | None = None  # when the dispatcher saw its result

    @property
    def queue_seconds(self) -> float | None:
        """Time from the last send to the build's start: the round trip less the worker's
        own task time (includes up to one poll interval of the dispatcher)."""
        if self.done_at is None or self.result is None or self.result.seconds is None:
            return None
        return max(0.0, self.done_at - self.sent_at - self.result.seconds)

    @property
    def label(self) -> str:
        s = self.spec
        return f"{s.package} {s.version} {s.target} build {s.build.upper()}"


@dataclass(frozen=True)
class ReleaseResults:
    """Everything the farm got for one release."""

    builds: tuple[Build, ...]
    refused: tuple[str, ...]  # results that counted for nothing, and why

    @property
    def signed(self) -> list[Any]:
        return [b.result.signed for b in self.builds if b.result is not None]


def worker_id_of(hostname: str) -> str | None:
    return hostname[len(HOSTNAME_PREFIX):] if hostname.startswith(HOSTNAME_PREFIX) else None


class Farm:
    def __init__(
        self,
        broker: str,
        store: ArtifactStore,
        worker_keys: Mapping[str, Key],
        *,
        variations: Sequence[str],
        time_limit: float,
        wait_seconds: float,
        visibility_timeout: int,
        progress: Progress,
    ) -> None:
        if not variations:
            raise FarmError("build B needs at least one variation")
        self.app: Celery = make_app(broker, visibility_timeout)
        self.store = store
        self.keys = worker_keys
        self.variations = tuple(variations)
        self.time_limit = time_limit
        self.wait_seconds = wait_seconds
        self.progress = progress
        self.refused: dict[str, list[str]] = {}
        self._news: Any = None  # redis-py PubSub on the result keys of the builds sent

    def _subscribe(self, builds: Sequence[Build]) -> None:
        """Be woken when the backend stores a state of these builds' tasks (best effort: the
        MGET every POLL_EVERY seconds reads whatever a lost subscription misses)."""
        backend = self.app.backend
        keys = [backend.get_key_for_task(b.celery_id) for b in builds if b.celery_id]
        if not keys:
            return
        try:
            if self._news is None:
                self._news = backend.client.pubsub(ignore_subscribe_messages=True)
            self._news.subscribe(*keys)
        except BROKER_ERRORS:
            self._drop_news()

    def _drop_news(self) -> None:
        if self._news is not None:
            try:
                self._news.close()
            except BROKER_ERRORS:
                pass
        self._news = None

    def _wait_for_news(self, seconds: float, pending: Sequence[Build]) -> set[bytes]:
        """Sleep until tasks of ours changed state in the backend, at most `seconds`; the
        result keys published meanwhile (empty: none, or the subscription was lost)."""
        end = time.monotonic() + max(0.0, seconds)
        if self._news is None:
            self._subscribe(pending)
        changed: set[bytes] = set()
        while not changed and (left := end - time.monotonic()) > 0:
            if self._news is None:
                time.sleep(left)
                break
            try:
                message = self._news.get_message(timeout=left)
                while message is not None:  # every state published meanwhile, one MGET
                    channel = message.get("channel")
                    changed.add(channel if isinstance(channel, bytes) else str(channel).encode())
                    message = self._news.get_message(timeout=0)
            except BROKER_ERRORS:
                self._drop_news()  # resubscribed on the next wait, once Redis answers
                break
        return changed

    def live_workers(self, timeout: float = 1.0, among: Sequence[str] = ()) -> list[str]:
        """The workers that answer a ping: those of `among`, or any (up to one per configured
        key). The ping returns as soon as that many answered, else after `timeout`."""
        try:
            if among:
                replies = self.app.control.ping(
                    destination=[HOSTNAME_PREFIX + w for w in among], timeout=timeout,
                    limit=len(among),
                )
            else:
                replies = self.app.control.ping(timeout=timeout, limit=len(self.keys))
        except Exception as error:  # kombu raises transport-specific errors
            raise FarmError(f"broker unreachable: {error}") from None
        found = {worker_id_of(name) for reply in replies for name in reply}
        return sorted(w for w in found if w)

    def _upload(self, release: FarmRelease, workers: list[str], start: int) -> list[Build]:
        manifest = self.store.put(release.manifest)
        archive = self.store.put(release.archive)
        deps = tuple((self.store.put(m), self.store.put(a)) for m, a in release.dependencies)
        builds = []
        for offset, target in enumerate(release.targets):
            for index, (label, variations) in enumerate((("a", ()), ("b", self.variations))):
                spec = BuildSpec(
                    task=str(uuid.uuid4()),
                    package=release.package,
                    version=release.version,
                    target=target,
                    build=label,
                    variations=tuple(variations),
                    manifest=manifest,
                    archive=archive,
                    dependencies=deps,
                    time_limit=self.time_limit,
                )
                build = Build(spec)
                self._send(build, workers[(start + offset + index) % len(workers)])
                builds.append(build)
        return builds

    def _send(self, build: Build, worker: str) -> None:
        build.worker, build.state = worker, "queued"
        build.attempts += 1
        build.tried.add(worker)
        sent = self.app.send_task(
            TASK_NAME,
            args=[build.spec.to_json()],
            queue=queue_of(worker),
            time_limit=build.spec.time_limit + HARD_LIMIT_MARGIN,
        )
        build.celery_id = sent.id
        build.sent_at, build.done_at = time.monotonic(), None
        self._subscribe([build])
        self.progress(f"{build.label}: queued on {worker} (attempt {build.attempts})")

    def _resend(self, build: Build, live: list[str], why: str) -> None:
        if build.pinned and build.worker not in live:
            live = []  # a probe compares builds of one machine: no other worker will do
        elif build.pinned:
            live = [build.worker]
        if build.attempts >= MAX_ATTEMPTS or not live:
            build.state, build.error = "given up", f"{why}; given up after {build.attempts} sends"
            self.progress(f"{build.label}: {build.error}")
            return
        fresh = [w for w in live if w not in build.tried] or live
        self._send(build, fresh[build.attempts % len(fresh)])

    def _refuse(self, build: Build, document: Any, why: str) -> bool:
        digest = sha256_hex(repr(document).encode())
        if digest in build.seen:
            return False
        build.seen.add(digest)
        line = f"{build.label}: result refused: {why}"
        self.refused.setdefault(f"{build.spec.package}\0{build.spec.version}", []).append(line)
        self.progress(line)
        return True

    def _key(self, build: Build) -> bytes:
        key = self.app.backend.get_key_for_task(build.celery_id)
        return key if isinstance(key, bytes) else str(key).encode()

    def _task_states(self, builds: Sequence[Build]) -> list[tuple[str, Any]]:
        """(Celery state, result) of each build's task, in one MGET round trip to Redis."""
        if not builds:
            return []
        backend = self.app.backend
        raws = backend.client.mget([self._key(b) for b in builds])
        states: list[tuple[str, Any]] = []
        for raw in raws:
            if raw is None:
                states.append(("PENDING", None))
                continue
            try:
                meta = backend.decode_result(raw)
                states.append((str(meta["status"]), meta.get("result")))
            except Exception:  # not Celery's JSON (forged, corrupt): refused as no result
                states.append(("SUCCESS", None))
        return states

    def _poll(self, build: Build, live: list[str], state: str, document: Any) -> None:
        if state == "STARTED" and build.state == "queued":
            build.state = "running"
            self.progress(f"{build.label}: running on {build.worker}")
        elif state == "SUCCESS":
            try:
                bound = bind_result(build.spec, document, self.keys)
                digest = bound.verdict.sha256 if build.fetch_image else None
                image = self.store.get(digest) if digest else None
            except (ResultRefused, StoreError) as error:
                if self._refuse(build, document, str(error)):
                    self._resend(build, [w for w in live if w != build.worker], str(error))
                return
            build.result, build.image, build.state = bound, image, "done"
            build.done_at = time.monotonic()
            verdict = bound.verdict
            what = (verdict.sha256 or "")[:16] if verdict.status == BuildStatus.BUILT else (
                verdict.reason
            )
            self.progress(f"{build.label}: {verdict.status} by {verdict.builder_id}: {what}")
        elif state == "FAILURE":
            build.state, build.error = "failed", f"task failed on {build.worker}: {document}"
            build.done_at = time.monotonic()
            self.progress(f"{build.label}: {build.error}")

    def _broker_run(self) -> str | None:
        """The Redis server's run id (it changes on every restart); None while unreachable."""
        try:
            run_id = self.app.backend.client.info("server").get("run_id")
        except Exception:  # redis-py raises ConnectionError and friends
            return None
        return str(run_id) if run_id else None

    def _summary(self, builds: Sequence[Build]) -> str:
        per: dict[str, dict[str, int]] = {}
        for b in builds:
            counts = per.setdefault(b.worker, {})
            counts[b.state] = counts.get(b.state, 0) + 1
        return "; ".join(
            f"{w}: " + ", ".join(f"{n} {s}" for s, n in sorted(c.items()))
            for w, c in sorted(per.items())
        )

    def run(self, releases: Sequence[FarmRelease]) -> list[ReleaseResults]:
        """Build every target of every release twice on the farm; results in release order."""
        workers = self.live_workers()
        deadline = time.monotonic() + self.wait_seconds
        while not workers and time.monotonic() < deadline:
            time.sleep(1.0)
            workers = self.live_workers()
        if not workers:
            raise FarmError("no farm worker answered on the broker (start: repo-tool worker)")
        self.progress(f"workers up: {', '.join(workers)}")
        per_release = []
        start = 0
        for release in releases:
            per_release.append(self._upload(release, workers, start))
            start += len(release.targets)
        self.wait([b for builds in per_release for b in builds], workers)
        return [
            ReleaseResults(
                tuple(builds),
                tuple(self.refused.get(f"{r.package}\0{r.version}", [])),
            )
            for r, builds in zip(releases, per_release, strict=True)
        ]

    def wait(self, every: Sequence[Build], workers: list[str]) -> None:
        """Wait until every build is done, failed or given up; resend what a lost worker or a
        restarted broker dropped, refuse (and resend) results that do not bind."""
        missed: dict[str, int] = {}
        next_ping = time.monotonic() + PING_EVERY
        next_summary = time.monotonic() + 10.0
        deadline = time.monotonic() + self.wait_seconds
        live = workers
        broker_run = self._broker_run()
        next_check = time.monotonic() + BROKER_CHECK_EVERY
        changed: set[bytes] = set()  # result keys published since the last read
        next_read_all = 0.0
        while any(b.state in ("queued", "running") for b in every):
            if time.monotonic() > deadline:
                for b in every:
                    if b.state in ("queued", "running"):
                        b.state, b.error = "given up", f"no result within {self.wait_seconds:.0f} s"
                        self.progress(f"{b.label}: {b.error}")
                break
            run = broker_run
            if time.monotonic() >= next_check or self._news is None or not broker_run:
                run = self._broker_run()
                next_check = time.monotonic() + BROKER_CHECK_EVERY
            if run is None:
                self.progress("broker unreachable: waiting for it")
                time.sleep(PING_EVERY)
                continue
            if run != broker_run:
                # A restarted Redis may have lost queued tasks and results: send again every
                # build not yet decided (idempotent; only the new send's result is read).
                self.progress("broker restarted: sending the undecided builds again")
                broker_run = run
                try:
                    live = self.live_workers(timeout=3.0) or live
                    for b in every:
                        if b.state in ("queued", "running"):
                            b.attempts -= 1  # a broker restart is not the build's fault
                            self._resend(b, live, "broker restarted")
                except (*BROKER_ERRORS, FarmError) as error:
                    self.progress(f"broker unreachable ({error}): waiting for it")
                    broker_run = ""  # send again once it answers
                continue
            try:
                pending = [b for b in every if b.state in ("queued", "running")]
                if time.monotonic() >= next_read_all:
                    next_read_all = time.monotonic() + POLL_EVERY
                else:
                    pending = [b for b in pending if self._key(b) in changed]
                for b, (state, document) in zip(pending, self._task_states(pending), strict=True):
                    self._poll(b, live, state, document)
            except BROKER_ERRORS as error:
                self.progress(f"broker unreachable ({error}): waiting for it")
                time.sleep(PING_EVERY)
                continue
            now = time.monotonic()
            holding = sorted({b.worker for b in every if b.state in ("queued", "running")})
            if now >= next_ping and holding:
                next_ping = now + PING_EVERY
                try:
                    answered = self.live_workers(among=holding)
                except FarmError:
                    continue
                live = sorted(set(live) | set(answered))
                for w in holding:
                    missed[w] = 0 if w in answered else missed.get(w, 0) + 1
                    if missed[w] == MISSED_PINGS:
                        live = [x for x in live if x != w]
                        self.progress(f"worker {w} lost: its builds go to {live or 'nobody'}")
                        for b in every:
                            if b.worker == w and b.state in ("queued", "running"):
                                self._resend(b, live, f"worker {w} lost")
            if now >= next_summary:
                next_summary = now + 10.0
                self.progress(f"progress: {self._summary(every)}")
            pending = [b for b in every if b.state in ("queued", "running")]
            if pending:
                wake = min(next_read_all, next_check, next_ping if holding else 1e18) - now
                changed = self._wait_for_news(wake, pending)
        self.progress(f"done: {self._summary(every)}")

    def probe(
        self, worker: str, base: BuildSpec, sets: Sequence[Sequence[str]]
    ) -> list[str | None]:
        """Build `base`'s target once per set of variation names, all on `worker` (blame).

        () is build A's conditions. Each result is bound like any other (signed by a
        configured key, for this very task); the image hash of each, None if it failed.
        Raises FarmError if a probe got no result (its worker lost, the wait over).
        """
        builds = []
        for names in sets:
            spec = replace(base, task=str(uuid.uuid4()), build="b" if names else "a",
                           variations=tuple(names))
            build = Build(spec, pinned=True, fetch_image=False)
            self._send(build, worker)
            builds.append(build)
        self.wait(builds, [worker])
        lost = next((b for b in builds if b.result is None), None)
        if lost is not None:
            raise FarmError(f"blame stopped: {lost.label}: {lost.error}")
        return [b.result.verdict.sha256 if b.result else None for b in builds]
