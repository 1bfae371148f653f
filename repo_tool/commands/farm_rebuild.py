"""`repo-tool rebuild --broker URL --worker-key KEY...`: a rebuilder's builds on farm workers.

The options of the farm for `rebuild` (docs/farm.md, docs/rebuilder.md), turned into
one `farm` argument: a builder.farm.rebuild.FarmRebuilder, or None without --broker
(the rebuild then runs in-process, unchanged).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from builder.errors import BuildError

if TYPE_CHECKING:
    from builder.farm.rebuild import FarmRebuilder

BROKER_SCHEMES = ("redis://", "rediss://", "redis+socket://")

_OPTIONS = (
    click.option("--broker", metavar="URL",
                 help="Run build A and build B on farm workers through this Redis broker "
                      "(docs/farm.md) instead of in-process."),
    click.option("--worker-key", "worker_keys", multiple=True,
                 type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="Public key of a farm worker whose results count (repeatable; with "
                      "--broker)."),
    click.option("--require-workers", default=1, show_default=True,
                 type=click.IntRange(1, 64),
                 help="Farm: distinct worker keys whose builds must agree."),
    click.option("--store", "store_dir", type=click.Path(file_okay=False, path_type=Path),
                 help="Farm artifact store shared with the workers [default: OUT/farm-store]."),
    click.option("--build-time-limit", default=600.0, show_default=True,
                 type=click.FloatRange(0, 86400, min_open=True),
                 help="Farm: wall-clock seconds of one build; past it the build fails."),
    click.option("--farm-wait", default=3600, show_default=True,
                 type=click.IntRange(1, 7 * 86400),
                 help="Farm: seconds to wait for workers and results before giving up."),
    click.option("--visibility-timeout", default=3600, show_default=True,
                 type=click.IntRange(10, 7 * 86400),
                 help="Farm: Redis redelivery timeout; the same value as the workers'."),
)


def farm_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the farm options to `command`, which receives them as one `farm` argument."""

    @functools.wraps(command)
    def with_farm(
        *args: Any,
        broker: str | None,
        worker_keys: tuple[Path, ...],
        require_workers: int,
        store_dir: Path | None,
        build_time_limit: float,
        farm_wait: int,
        visibility_timeout: int,
        **kwargs: Any,
    ) -> Any:
        farm = None
        if broker is not None:
            out = kwargs.get("out_dir")
            farm = farm_rebuilder(
                broker, worker_keys, require_workers,
                store_dir or Path(out if out is not None else ".") / "farm-store",
                build_time_limit, farm_wait, visibility_timeout,
            )
        elif worker_keys:
            raise click.UsageError("--worker-key needs --broker")
        return command(*args, farm=farm, **kwargs)

    for option in reversed(_OPTIONS):
        with_farm = option(with_farm)
    return with_farm


def check_broker_options(broker: str, worker_keys: tuple[Path, ...]) -> None:
    """UsageError unless BROKER is a Redis URL and at least one worker key is configured
    (`build --broker` and `rebuild --broker` alike)."""
    if not worker_keys:
        raise click.UsageError("--broker needs at least one --worker-key: only results signed "
                               "by a configured worker key count")
    if not broker.startswith(BROKER_SCHEMES):
        raise click.BadParameter("a redis://, rediss:// or redis+socket:// URL",
                                 param_hint="--broker")


def farm_rebuilder(
    broker: str,
    worker_keys: tuple[Path, ...],
    require_workers: int,
    store_dir: Path,
    time_limit: float,
    wait: int,
    visibility_timeout: int,
) -> FarmRebuilder:
    """The FarmRebuilder for these options (keys loaded, checked); UsageError if they clash."""
    from builder.farm.rebuild import FarmRebuilder
    from signing.keys import load_public_key

    check_broker_options(broker, worker_keys)
    keys = {}
    for path in worker_keys:
        key = load_public_key(path)
        keys[key.keyid] = key
    if require_workers > len(keys):
        raise BuildError(f"--require-workers {require_workers} with only {len(keys)} "
                         "--worker-key")
    store_dir.mkdir(parents=True, exist_ok=True)
    return FarmRebuilder(
        broker, store_dir, keys, require_workers, time_limit=time_limit,
        wait_seconds=float(wait), visibility_timeout=visibility_timeout,
        progress=lambda line: click.echo(f"rebuild: farm: {line}", err=True),
    )
