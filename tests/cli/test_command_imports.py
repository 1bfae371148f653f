"""Each repository command imports only what it needs (issue #10: cold start-up).

A cold `repo-tool publish` must not pay for the HTTP server, the service scheduler or
the builder; `release` (which runs the builder's release checks) not for the HTTP server.
"""

from __future__ import annotations

import pytest

from tests.cli.test_command_table import probe

HTTP_SERVICE = {"tuf_metadata.http_server", "tuf_metadata.service", "http.server"}
BUILDER = {"builder.plan", "builder.build", "builder.sandbox"}


@pytest.mark.parametrize(("command", "absent"), [
    ("publish", HTTP_SERVICE | BUILDER),
    ("release", HTTP_SERVICE),
    ("package", HTTP_SERVICE | BUILDER),
    ("sign", HTTP_SERVICE | BUILDER),
    ("sync", HTTP_SERVICE | BUILDER),
])
def test_repository_command_imports_only_its_own_needs(command: str, absent: set[str]) -> None:
    output, modules = probe(command, "--help")
    assert f"Usage: repo-tool {command} " in output
    assert sorted(modules & absent) == []


def test_serve_imports_the_http_server() -> None:
    # The probe above would pass vacuously if these names were wrong.
    _, modules = probe("serve", "--help")
    assert HTTP_SERVICE <= modules
