"""repo_tool.remotes, pure parts: the config file format and which repository is chosen."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from repo_tool.remotes import (
    Remote,
    RemoteConfig,
    RemoteError,
    choose,
    parse_config,
    render_config,
    toml_string,
    with_default,
    with_remote,
    without_remote,
)

BASE = Path("/home/op/.config/unirepo")
MAIN = Remote("main", "https://repo.example.org", BASE / "roots/main.root.json",
              ("https://mirror.example.org",))
LAB = Remote("lab", "http://127.0.0.1:8080/repo", Path("/srv/lab-root.json"))
CONFIG = RemoteConfig({"lab": LAB, "main": MAIN}, "main")


@pytest.mark.parametrize("value", ['a"b\\c', "\x00\x08\x1f\x7f", "tab\tnew\nline", "é 😀", ""])
def test_toml_string_round_trips_through_tomllib(value: str) -> None:
    assert tomllib.loads(f"k = {toml_string(value)}")["k"] == value


def test_render_then_parse_is_the_same_config() -> None:
    text = render_config(CONFIG, BASE)
    assert 'root = "roots/main.root.json"' in text  # stored roots are relative to the config
    assert 'root = "/srv/lab-root.json"' in text
    assert parse_config(text, BASE, "config.toml") == CONFIG


@pytest.mark.parametrize(("text", "message"), [
    ("remotes = [", "config.toml: not valid TOML"),
    ('[remotes.main]\nurl = "https://x"\n', "config.toml: remotes.main: needs url and root"),
    ('[remotes.main]\nurl = "ftp://x"\nroot = "r"\n', "repository URL 'ftp://x'"),
    ('[remotes.main]\nurl = 5\nroot = "r"\n', "remotes.main.url: expected a string"),
    ('[remotes."Bad Name"]\nurl = "https://x"\nroot = "r"\n', "remote name 'Bad Name'"),
    ('default = "gone"\n', "config.toml: default remote 'gone' is not configured"),
])
def test_bad_config_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RemoteError) as raised:
        parse_config(text, BASE, "config.toml")
    assert message in str(raised.value)


def test_first_remote_becomes_default_and_names_are_unique() -> None:
    config = with_remote(RemoteConfig(), LAB, make_default=False)
    assert config.default == "lab"
    config = with_remote(config, MAIN, make_default=False)
    assert config.default == "lab"
    assert with_remote(without_remote(config, "main"), MAIN, make_default=True).default == "main"
    with pytest.raises(RemoteError, match="remote 'lab' exists; remove it first"):
        with_remote(config, LAB, make_default=False)


def test_removing_the_default_leaves_none_and_unknown_names_are_refused() -> None:
    assert without_remote(CONFIG, "main").default is None
    assert without_remote(CONFIG, "lab").default == "main"
    assert with_default(CONFIG, "lab").default == "lab"
    with pytest.raises(RemoteError, match=r"no remote named 'x' \(configured: lab, main;"):
        with_default(CONFIG, "x")


def unreadable() -> RemoteConfig:
    raise AssertionError("the config file must not be read for this choice")


def test_choice_order_command_line_then_environment_then_default() -> None:
    env_url = {"UNIREPO_URL": "http://env.example/", "UNIREPO_ROOT": "/env/root.json"}
    # 1. --repo with --root: no config read, even if the environment names others.
    chosen = choose(unreadable, {**env_url, "UNIREPO_REMOTE": "lab"},
                    url="http://cli.example/", root=Path("r.json"), mirrors=("http://m/",))
    assert chosen == Remote(None, "http://cli.example", Path("r.json"), ("http://m",))
    # 2. --remote NAME beats the environment.
    assert choose(lambda: CONFIG, {**env_url, "UNIREPO_REMOTE": "main"}, name="lab") == LAB
    # 3. UNIREPO_URL + UNIREPO_ROOT: no config read.
    assert choose(unreadable, {**env_url, "UNIREPO_REMOTE": "lab"}) == Remote(
        None, "http://env.example", Path("/env/root.json"))
    # 4. UNIREPO_REMOTE, then 5. the default.
    assert choose(lambda: CONFIG, {"UNIREPO_REMOTE": "lab"}) == LAB
    assert choose(lambda: CONFIG, {}) == MAIN
    # Mirrors given on the command line come after the configured ones.
    assert choose(lambda: CONFIG, {}, mirrors=("http://extra",)).mirrors == (
        "https://mirror.example.org", "http://extra")


@pytest.mark.parametrize(("kwargs", "env", "message"), [
    ({"url": "http://x"}, {}, "--url and --root go together"),
    ({}, {"UNIREPO_URL": "http://x"}, "UNIREPO_URL and UNIREPO_ROOT go together"),
    ({}, {"UNIREPO_REMOTE": "nope"}, "no remote named 'nope'"),
    ({}, {}, "no repository given: add one with `repo-tool remote add NAME URL"),
])
def test_incomplete_choices_say_what_to_do(
    kwargs: dict[str, str], env: dict[str, str], message: str
) -> None:
    config = CONFIG if env.get("UNIREPO_REMOTE") else RemoteConfig()
    with pytest.raises(RemoteError) as raised:
        choose(lambda: config, env, **kwargs)  # type: ignore[arg-type]
    assert message in str(raised.value)
