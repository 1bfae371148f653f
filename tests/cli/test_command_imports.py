"""Each repository command imports only what it needs (issue #10: cold start-up).

A cold `repo-tool publish` must not pay for the HTTP server, the service scheduler or
the builder; `release` (which runs the builder's release checks) not for the HTTP server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_command_table import probe
from tests.repository.helpers import init_repo, release

pytestmark = pytest.mark.slow  # each test starts repo-tool cold in a new interpreter

HTTP_SERVICE = {"tuf_metadata.http_server", "tuf_metadata.service", "http.server"}
BUILDER = {"builder.plan", "builder.build", "builder.sandbox"}
# What publishing one staged release never uses: the other parts of the repository facade,
# in-toto (rebuilder attestations), the verifying client, rich, boto3 (`sync --to s3://`),
# and python-tuf and securesystemslib (about 65-80 ms of imports): the publish path reads,
# verifies and signs metadata as plain data (tuf_metadata.metadata_reader, signing.threshold,
# signing.key_files).
NOT_PUBLISHING = ("tuf", "securesystemslib", "in_toto", "signing.attestations",
                  "tuf_metadata.quorum",
                  "tuf_metadata.key_rotation", "tuf_metadata.rebuilders",
                  "tuf_metadata.repo_verify", "tuf_metadata.client", "tuf.ngclient", "rich",
                  "boto3", *HTTP_SERVICE, *BUILDER)


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


def test_publishing_a_release_imports_only_the_publish_path(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    assert release(fx, "hello", "1.0.0", ["hello"]).exit_code == 0
    output, modules = probe("publish", "--no-build", "--repo", str(fx.repo_dir),
                            "hello", "1.0.0")
    assert output == "published hello 1.0.0\n"
    # Vacuous if the probe could not see third-party modules at all.
    assert "cryptography" in modules and "click" in modules
    assert sorted(m for m in modules
                  if any(m == name or m.startswith(name + ".") for name in NOT_PUBLISHING)) == []
    # The probe would pass vacuously if the publish had not loaded its own parts.
    assert {"tuf_metadata.releases", "tuf_metadata.online", "tuf_metadata.repo_policy"} <= modules
