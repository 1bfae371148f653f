"""Signing a pending change again with a key that already signed it says so and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.repository.helpers import init_repo, make_keys, pub, run, tree_digest
from tests.repository.test_bad_input import refused


def test_signing_a_pending_change_twice_with_the_same_key_says_so(tmp_path: Path) -> None:
    fx = init_repo(tmp_path)  # 3 maintainers, threshold 2
    fx.keys.update(make_keys(tmp_path / "keys", ["dana"]))
    repo = str(fx.repo_dir)
    proposed = run(["package", "add", "hello", "--repo", repo, "--pubkey",
                    str(pub(fx.keys["dana"])), "--json"])
    change_id = json.loads(proposed.output)["id"]
    sign = ["sign", change_id, "--repo", repo, "--insecure-plaintext"]
    first = run([*sign, "--key", str(fx.keys["m0"])])
    assert first.exit_code == 0 and "threshold not reached" in first.output, first.output
    before = tree_digest(fx.repo_dir)
    refused(run([*sign, "--key", str(fx.keys["m0"])]),
            f"pending change {change_id} is already signed by key", "nothing changed")
    refused(run([*sign, "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m0"])]),
            "already signed")
    assert tree_digest(fx.repo_dir) == before
    # A new maintainer's key, even beside the repeated one, still counts and commits.
    second = run([*sign, "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m1"])])
    assert second.exit_code == 0 and "committed and published" in second.output, second.output
    assert "hello" in run(["package", "list", "--repo", repo]).output
