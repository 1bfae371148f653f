"""in-toto loads only where a link is made or read, not in an operator's rebuilder check.

`fetch --require-rebuilders` checks DSSE verdicts; importing in-toto (attrs and dateutil
under it) cost it about 35 ms of a ~200 ms cold fetch (bench/results/fetch-rebuilders.md).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from signing.attestations import link_file_name

pytestmark = pytest.mark.slow  # each test starts a new interpreter importing the project


def loaded_after(statement: str) -> list[str]:
    probe = (f"import sys\n{statement}\n"
             "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'in_toto')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout.split()


def test_the_rebuilder_check_of_fetch_does_not_load_in_toto() -> None:
    assert loaded_after("import builder.rebuilder_policy, tuf_metadata.client.attestations, "
                        "repo_tool.commands.fetch, builder.verdict") == []


def test_making_a_link_loads_it() -> None:
    assert "in_toto.models.link" in loaded_after(
        "from signing.attestations import make_link\nmake_link('s', [], {}, {})")
    assert link_file_name("rebuild", "0123456789abcdef") == "rebuild.01234567.link"
