"""`repo-tool intoto`: the repository's in-toto layout for the in-toto project's `in-toto-verify`.

`intoto layout` writes root.layout (signing.intoto_layout) signed by every
--sign-with maintainer key; `intoto pem` writes a public key file as the PEM
that `in-toto-verify --verification-keys` reads. docs/intoto.md shows the
whole verification. `invocation` is how the build commands record, in their
links, the command that really ran.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from click.core import ParameterSource

from repo_tool.commands.keys import passphrase_options, passphrase_source

PROGRAM = "repo-tool"
# What a parameter's value came from when the user gave it (not a default).
GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT, ParameterSource.PROMPT)


def invocation(ctx: click.Context) -> tuple[str, ...]:
    """The command as the user gave it: `repo-tool SUBCOMMAND`, its arguments, then every
    option set on the command line or through the environment (long names, declaration
    order); defaults are left out, as they were not typed."""
    argv = [PROGRAM, *ctx.command_path.split()[1:]]
    options: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if name is None or ctx.get_parameter_source(name) not in GIVEN:
            continue
        value = ctx.params.get(name)
        values = list(value) if isinstance(value, tuple | list) else [value]
        if isinstance(param, click.Argument):
            argv.extend(str(v) for v in values)
            continue
        if not isinstance(param, click.Option) or param.hide_input:
            continue  # a hidden input (a secret typed at a prompt) never goes into a link
        flag = max(param.opts, key=len)
        if param.is_flag:
            if value:
                options.append(flag)
            elif param.secondary_opts:
                options.append(max(param.secondary_opts, key=len))
            continue
        for v in values:
            options.extend((flag, str(v)))
    return (*argv, *options)


def register(group: click.Group) -> None:
    group.add_command(intoto_group)


@click.group("intoto")
def intoto_group() -> None:
    """in-toto layout (author, builder, k rebuilders) for the in-toto project's in-toto-verify."""


KEY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@intoto_group.command("layout")
@click.option("--author-key", "author_keys", multiple=True, required=True, type=KEY_FILE,
              help="Public key of a package author (step author-build; repeatable).")
@click.option("--builder-key", "builder_keys", multiple=True, required=True, type=KEY_FILE,
              help="Public key of the builder (step builder-double-build; repeatable).")
@click.option("--rebuilder-key", "rebuilder_keys", multiple=True, type=KEY_FILE,
              help="Public key of an independent rebuilder (step rebuild; repeatable). "
                   "Without any, the layout has no rebuild step.")
@click.option("--rebuild-threshold", type=click.IntRange(1), default=None,
              help="How many rebuilders must have rebuilt the image [default: all given].")
@click.option("--sign-with", "sign_with", multiple=True, required=True, type=KEY_FILE,
              help="Maintainer private key that signs the layout (repeatable: in-toto-verify "
                   "checks one signature per key it is given).")
@click.option("--expires-days", default=365, show_default=True, type=click.IntRange(1, 3650),
              help="The layout expires this many days from now.")
@click.option("-o", "--out", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Where to write the layout.")
@passphrase_options
def layout_command(
    author_keys: tuple[Path, ...],
    builder_keys: tuple[Path, ...],
    rebuilder_keys: tuple[Path, ...],
    rebuild_threshold: int | None,
    sign_with: tuple[Path, ...],
    expires_days: int,
    out: Path,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    insecure_plaintext: bool,
) -> None:
    """Write the in-toto layout: author-build, builder-double-build, rebuild (k of n).

    Example: repo-tool intoto layout --author-key alice.pub.json --builder-key
    builder.pub.json --rebuilder-key r1.pub.json --sign-with m1.key -o root.layout
    """
    import json

    from fsio import atomic_write
    from signing.intoto_layout import LayoutKeys, build_layout, sign_layout
    from signing.keys import load_public_key, load_signer

    if rebuild_threshold is not None and not rebuilder_keys:
        raise click.UsageError("--rebuild-threshold needs --rebuilder-key")
    source = passphrase_source(passphrase_env, passphrase_file, insecure_plaintext)
    signers = [load_signer(path, source) for path in sign_with]
    rebuilders = [load_public_key(path) for path in rebuilder_keys]
    keys = LayoutKeys(
        authors=[load_public_key(path) for path in author_keys],
        builders=[load_public_key(path) for path in builder_keys],
        rebuilders=rebuilders,
        rebuild_threshold=(rebuild_threshold or len(rebuilders)) if rebuilders else 0,
    )
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=expires_days)
    layout = build_layout(
        keys, expires, readme="unirepo release: author build, builder double build, rebuilds"
    )
    document = sign_layout(layout, signers)
    atomic_write(out, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
    steps = ", ".join(
        f"{s.name} ({s.threshold} of {len(s.pubkeys)})" for s in layout.steps
    )
    click.echo(f"wrote {out}: steps {steps}; expires {layout.expires}; "
               f"signed by {len(signers)} maintainer key(s)")


@intoto_group.command("pem")
@click.argument("public", type=KEY_FILE)
@click.option("-o", "--out", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Where to write the PEM.")
def pem_command(public: Path, out: Path) -> None:
    """Write public key file PUBLIC as PEM for `in-toto-verify --verification-keys`."""
    from fsio import atomic_write
    from signing.intoto_layout import public_key_pem
    from signing.keys import load_public_key

    key = load_public_key(public)
    atomic_write(out, public_key_pem(key), 0o644)
    click.echo(f"wrote {out} (keyid {key.keyid})")
