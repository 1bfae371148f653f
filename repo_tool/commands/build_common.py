"""What `build`, `build-package` and `rebuild` share: options, host checks, the results table,
failure reports and exit statuses (README and docs/builder.md list the statuses).

0 everything was reproducible (build: published) or nothing was staged;
3 some image was refused: unreproducible, not the author's bytes, or a release refused
before building; 4 some build failed (compile error, resource limit; the log's last lines
and path are shown); 1 the command could not run.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from securesystemslib.signer import Signer

from builder.errors import BuildError
from builder.gate import Refusal
from builder.pipeline import BuildOptions, TargetResult, log_tail
from builder.plan import PackageIndex, scan_index
from builder.sandbox import missing_programs
from builder.status import BuildStatus
from builder.variations import Variation, select, variation_names
from repo_tool.commands.intoto import invocation
from repo_tool.commands.keys import passphrase_source

EXIT_REFUSED = 3  # some image unreproducible, not the author's, or the release refused
EXIT_BUILD_FAILED = 4  # some build failed (compiler error, resource limit)
STATUS_STYLE = {BuildStatus.REPRODUCIBLE: "green", BuildStatus.UNREPRODUCIBLE: "red"}
INDEX_OPTION = click.option(
    "--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Package index for dependencies [default: TREE/packages].",
)


def tree_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--tree`: the source tree (an existing directory, the current one by default)."""
    return click.option(
        "--tree",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=".",
        show_default=True,
        help=help_text,
    )


@dataclass(frozen=True)
class DoubleBuildChoices:
    """What --only, --skip, --no-blame, --key and --builder-id chose."""

    only: str | None
    skip: tuple[str, ...]
    find_culprits: bool
    key: Path | None
    builder_id: str

    def variations(self) -> tuple[Variation, ...]:
        return variations_of(self.only, self.skip)

    def build_options(
        self, cache_dir: Path | None, signer: Signer | None, link_step: str
    ) -> BuildOptions:
        """The BuildOptions of the running command (it is recorded in the in-toto link)."""
        return BuildOptions(
            cache_dir=cache_dir,
            signer=signer,
            builder_id=self.builder_id,
            find_culprits=self.find_culprits,
            link_step=link_step,
            command=invocation(click.get_current_context()),
        )


def double_build_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `build` and `build-package`: variations, blame, attestation.

    The command receives them as one `double_build: DoubleBuildChoices` argument."""

    @functools.wraps(command)
    def with_choices(
        *args: Any,
        only: str | None,
        skip: tuple[str, ...],
        no_blame: bool,
        key: Path | None,
        builder_id: str,
        **kwargs: Any,
    ) -> Any:
        choices = DoubleBuildChoices(only, skip, not no_blame, key, builder_id)
        return command(*args, double_build=choices, **kwargs)

    decorated: Callable[..., Any] = with_choices
    for option in reversed((
        click.option("--only", help="Comma-separated variations for build B [default: all]."),
        click.option("--skip", multiple=True, help="Do not apply this variation (repeatable)."),
        click.option("--no-blame", is_flag=True,
                     help="On a mismatch, do not search for the culprit."),
        click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Builder private key: signs every verdict (SLSA provenance in DSSE) "
                          "and an in-toto link per image; the cache trusts only its verdicts."),
        click.option("--builder-id", default="unirepo-builder", show_default=True,
                     help="Who built it (shown as 'reproduced by')."),
    )):
        decorated = option(decorated)
    return decorated


def output_options(
    out_default: str | None, out_help: str, dashboard_help: str, cache_help: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--out`, `--dashboard` and `--cache` (directories), with each command's defaults."""
    def directory(name: str, dest: str, default: str | None, help_text: str) -> Any:
        return click.option(name, dest, type=click.Path(file_okay=False, path_type=Path),
                            default=default, show_default=default is not None, help=help_text)

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed((
            directory("--out", "out_dir", out_default, out_help),
            directory("--dashboard", "dashboard_dir", None, dashboard_help),
            directory("--cache", "cache_dir", None, cache_help),
        )):
            command = option(command)
        return command

    return apply


def variations_of(only: str | None, skip: tuple[str, ...]) -> tuple[Variation, ...]:
    cpus = os.cpu_count() or 1
    chosen = select(only.split(",") if only else None, cpus)
    unknown = set(skip) - set(variation_names(cpus))
    if unknown:
        raise BuildError(f"unknown variation(s): {', '.join(sorted(unknown))}")
    return tuple(v for v in chosen if v.name not in skip)


def optional_signer(
    key: Path | None, env: str | None, file: Path | None, insecure: bool
) -> Signer | None:
    """The builder's signer from --key and the passphrase options; None without --key."""
    if key is None:
        return None
    from signing.keys import load_signer

    signer: Signer = load_signer(key, passphrase_source(env, file, insecure))
    return signer


def check_build_host() -> None:
    missing = missing_programs()
    if missing:
        raise BuildError(f"the builder needs {', '.join(missing)} (install: make deps)")
    if os.geteuid() != 0:
        raise BuildError("the builder runs as root (UTS namespace names, disorderfs mounts)")


def manifest_path(path: Path) -> Path:
    return path / "manifest.json" if path.is_dir() else path


def package_index(packages_dir: Path, console: Console) -> PackageIndex:
    """The package index; each malformed manifest is reported and skipped, not fatal."""
    if not packages_dir.is_dir():
        return PackageIndex({}, {})
    index = scan_index(packages_dir)
    for path, problem in index.broken.items():
        console.print(f"[yellow]warning[/]: skipping {path}: {problem}", highlight=False)
    return index


def results_table(
    results: Sequence[TargetResult], author: dict[tuple[str, str], str] | None
) -> Table:
    table = Table(title="builds")
    for column in (
        "package",
        "version",
        "target",
        "status",
        "sha256",
        "size",
        "time (s)",
        "blamed on",
    ):
        table.add_column(column)
    if author is not None:
        table.add_column("author hash")
    for r in results:
        style = STATUS_STYLE.get(r.status, "yellow")
        cells = [
            r.package,
            r.version,
            r.target,
            f"[{style}]{r.status}[/]" + (" (cached)" if r.cached else ""),
            r.sha256 or "-",
            f"{r.size:,}" if r.size else "-",
            f"{r.seconds:.2f}",
            ", ".join(r.culprits) or "-",
        ]
        if author is not None:
            expected = author.get((r.package, r.target))
            cells.append(
                "-" if expected is None else ("match" if expected == r.sha256 else "MISMATCH")
            )
        table.add_row(*cells)
    return table


def show_failures(results: Sequence[TargetResult]) -> None:
    """For every failed build: the log's path and its last lines (the compiler's error)."""
    for r in results:
        if r.status != BuildStatus.FAILED or r.failed_log is None:
            continue
        click.echo(f"{r.package} {r.version} {r.target}: {r.reason}", err=True)
        click.echo(f"  log: {r.failed_log}", err=True)
        for line in log_tail(Path(r.failed_log)):
            click.echo(f"  | {line}", err=True)


def exit_status(statuses: Sequence[BuildStatus | Refusal | None]) -> int:
    if any(s in (BuildStatus.FAILED, Refusal.FAILED) for s in statuses):
        return EXIT_BUILD_FAILED
    if any(s not in (None, BuildStatus.REPRODUCIBLE) for s in statuses):
        return EXIT_REFUSED
    return 0


def run_with_progress(
    console: Console, label: str, units: int, work: Any, quiet: bool
) -> list[TargetResult]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=units)

        def step(message: str) -> None:
            progress.update(task, description=message)

        results: list[TargetResult] = work(step, lambda: progress.advance(task))
    return results


def with_progress(options: BuildOptions, step: Callable[[str], None]) -> BuildOptions:
    return replace(options, progress=step)

