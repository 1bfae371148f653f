"""Configured repositories (`repo-tool remote`) and which one a client command uses.

A remote is stored once in $XDG_CONFIG_HOME/unirepo/config.toml (default
~/.config/unirepo/config.toml), its trusted root copied next to it as
roots/NAME.root.json:

    default = "main"

    [remotes."main"]
    url = "https://repo.example.org"
    root = "roots/main.root.json"
    mirrors = ["https://mirror.example.org"]

Which repository `fetch`, `search` and `show` use, first match wins:

1. --url URL with --root FILE on the command line;
2. --remote NAME on the command line;
3. UNIREPO_URL with UNIREPO_ROOT (an unnamed repository; no config file needed);
4. UNIREPO_REMOTE=NAME, a configured remote;
5. the configured default remote.

Parsing, rendering and choosing are pure; load/save and the root copy are the
I/O edges (atomic writes through fsio, one writer at a time under a lock).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tomllib
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fsio import atomic_copy, atomic_write
from repo_tool.errors import RepoToolError

CONFIG_NAME = "config.toml"
ROOTS_DIR = "roots"
ENV_REMOTE = "UNIREPO_REMOTE"
ENV_URL = "UNIREPO_URL"
ENV_ROOT = "UNIREPO_ROOT"

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class RemoteError(RepoToolError):
    """A remote or the config file is wrong or missing; the message says what to do."""


@dataclass(frozen=True)
class Remote:
    """A repository: base URL (serving metadata/ and targets/), trusted root, mirrors."""

    name: str | None  # None: given by URL on the command line or in the environment
    url: str
    root: Path
    mirrors: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.url

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.mirrors)


@dataclass(frozen=True)
class RemoteConfig:
    remotes: Mapping[str, Remote] = field(default_factory=dict)
    default: str | None = None


# -- pure -------------------------------------------------------------------


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RemoteError(f"remote name {name!r}: use 1-64 of a-z 0-9 _ - (starting with a "
                          "letter or digit)")
    return name


def check_url(url: str) -> str:
    """URL without a trailing slash; refused unless http(s)://HOST[/path]."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(f"repository URL {url!r}: give http(s)://HOST[:PORT][/PATH], the "
                          "base that serves metadata/ and targets/")
    if parts.query or parts.fragment:
        raise RemoteError(f"repository URL {url!r}: no query or fragment, only the base path")
    return url.rstrip("/")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise RemoteError(f"{where}: expected a string")
    return value


def parse_config(text: str, base: Path, where: str) -> RemoteConfig:
    """The remotes of a config.toml's TEXT; relative root paths are under BASE."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RemoteError(f"{where}: not valid TOML ({error}); fix or remove it") from None
    table = data.get("remotes", {})
    if not isinstance(table, dict):
        raise RemoteError(f"{where}: 'remotes' must be a table")
    remotes: dict[str, Remote] = {}
    for name, entry in table.items():
        at = f"{where}: remotes.{name}"
        check_name(name)
        if not isinstance(entry, dict):
            raise RemoteError(f"{at}: must be a table with url and root")
        if "url" not in entry or "root" not in entry:
            raise RemoteError(f"{at}: needs url and root")
        mirrors = entry.get("mirrors", [])
        if not isinstance(mirrors, list):
            raise RemoteError(f"{at}.mirrors: expected a list of URLs")
        remotes[name] = Remote(
            name=name,
            url=check_url(_string(entry["url"], f"{at}.url")),
            root=base / _string(entry["root"], f"{at}.root"),
            mirrors=tuple(check_url(_string(m, f"{at}.mirrors")) for m in mirrors),
        )
    default = data.get("default")
    if default is not None:
        default = _string(default, f"{where}: default")
        if default not in remotes:
            raise RemoteError(f"{where}: default remote {default!r} is not configured")
    return RemoteConfig(dict(sorted(remotes.items())), default)


def toml_string(value: str) -> str:
    """A TOML basic string: quote, backslash and control characters escaped."""
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def render_config(config: RemoteConfig, base: Path) -> str:
    """config.toml text; root paths under BASE are written relative to it."""
    lines = ["# repo-tool remotes: written by `repo-tool remote`.", ""]
    if config.default is not None:
        lines += [f"default = {toml_string(config.default)}", ""]
    for name, remote in config.remotes.items():
        root = remote.root.relative_to(base) if remote.root.is_relative_to(base) else remote.root
        lines += [
            f"[remotes.{toml_string(name)}]",
            f"url = {toml_string(remote.url)}",
            f"root = {toml_string(str(root))}",
            f"mirrors = [{', '.join(toml_string(m) for m in remote.mirrors)}]",
            "",
        ]
    return "\n".join(lines)


def with_remote(config: RemoteConfig, remote: Remote, make_default: bool) -> RemoteConfig:
    """CONFIG plus REMOTE; the first remote becomes the default."""
    assert remote.name is not None
    if remote.name in config.remotes:
        raise RemoteError(f"remote {remote.name!r} exists; remove it first "
                          f"(repo-tool remote remove {remote.name})")
    remotes = dict(sorted({**config.remotes, remote.name: remote}.items()))
    default = remote.name if make_default or config.default is None else config.default
    return RemoteConfig(remotes, default)


def without_remote(config: RemoteConfig, name: str) -> RemoteConfig:
    require(config, name)
    remotes = {key: value for key, value in config.remotes.items() if key != name}
    return RemoteConfig(remotes, None if config.default == name else config.default)


def with_default(config: RemoteConfig, name: str) -> RemoteConfig:
    require(config, name)
    return replace(config, default=name)


def require(config: RemoteConfig, name: str) -> Remote:
    remote = config.remotes.get(name)
    if remote is None:
        known = ", ".join(config.remotes) or "none"
        raise RemoteError(f"no remote named {name!r} (configured: {known}; add one with "
                          "repo-tool remote add NAME URL --root root.json)")
    return remote


def choose(
    config: Callable[[], RemoteConfig],
    env: Mapping[str, str],
    *,
    name: str | None = None,
    url: str | None = None,
    root: Path | None = None,
    mirrors: tuple[str, ...] = (),
) -> Remote:
    """The repository a client command uses (order in the module docstring).

    CONFIG is called only when the choice needs the config file, so a broken
    config does not stop `--url URL --root FILE` or UNIREPO_URL.
    """
    if url is not None or root is not None:
        if url is None or root is None:
            raise RemoteError("--url and --root go together (or use --remote NAME)")
        return Remote(None, check_url(url), root, tuple(check_url(m) for m in mirrors))
    if name is not None:
        chosen = require(config(), name)
    elif env.get(ENV_URL) or env.get(ENV_ROOT):
        if not env.get(ENV_URL) or not env.get(ENV_ROOT):
            raise RemoteError(f"{ENV_URL} and {ENV_ROOT} go together; set both or neither")
        return Remote(None, check_url(env[ENV_URL]), Path(env[ENV_ROOT]),
                      tuple(check_url(m) for m in mirrors))
    elif env.get(ENV_REMOTE):
        chosen = require(config(), env[ENV_REMOTE])
    elif (configured := config()).default is not None:
        chosen = configured.remotes[configured.default]
    else:
        raise RemoteError("no repository given: add one with `repo-tool remote add NAME URL "
                          "--root root.json`, or give --url URL --root FILE")
    return replace(chosen, mirrors=(*chosen.mirrors, *(check_url(m) for m in mirrors)))


def metadata_cache(env: Mapping[str, str], remote: Remote, root_bytes: bytes) -> Path:
    """The per-repository directory of trusted metadata: one per URL and initial root.

    Keyed by the root too, so a remote re-added with another root never starts
    from metadata that the old root's chain made trusted.
    """
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(f"{remote.url}\n{hashlib.sha256(root_bytes).hexdigest()}".encode())
    return cache / "unirepo" / "tuf" / digest.hexdigest()[:16]


# -- I/O ----------------------------------------------------------------------


def config_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "unirepo"


def load_config(directory: Path) -> RemoteConfig:
    """The config in DIRECTORY, or an empty one if there is no config file."""
    path = directory / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RemoteConfig()
    except (OSError, UnicodeDecodeError) as error:
        raise RemoteError(f"{path}: cannot read it ({error})") from None
    return parse_config(text, directory, str(path))


def save_config(directory: Path, config: RemoteConfig) -> None:
    atomic_write(directory / CONFIG_NAME, render_config(config, directory).encode())


def stored_root(directory: Path, name: str) -> Path:
    return directory / ROOTS_DIR / f"{check_name(name)}.root.json"


def store_root(directory: Path, name: str, root_file: Path) -> Path:
    """Copy ROOT_FILE next to the config (atomically); the copy's path."""
    destination = stored_root(directory, name)
    atomic_copy(root_file, destination)
    return destination


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """One `repo-tool remote` writer at a time: no concurrent change is lost."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".config.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
