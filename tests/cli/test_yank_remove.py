"""Taking published things back: an author yanks a release (`release yank`), maintainers
remove a package (`package remove`, a quorum change). The verifying client stops offering
what was taken back; the repository still verifies."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_online_keys import served  # noqa: F401  (the pytest fixture)
from tests.repository.helpers import Fixture, delegate, pub, release, run, tree_digest
from tests.support.published import metadata_dir
from tuf_metadata.repo_verify import now_utc, verify_repository


def fetch(fx: Fixture, url: str, *extra: str) -> tuple[int, str]:
    work = fx.work.parent
    result = run(["fetch", "hello", "--url", url, "--root",
                  str(metadata_dir(fx.repo_dir) / "1.root.json"), "-o", str(work / "out"),
                  "--metadata-dir", str(work / "client-md"), *extra])
    return result.exit_code, result.output


def test_a_yanked_release_is_no_longer_offered(served: tuple[Fixture, str]) -> None:  # noqa: F811
    fx, url = served
    repo = str(fx.repo_dir)
    assert release(fx, "hello", "1.1.0", ["hello"], ("hvt",)).exit_code == 0
    assert run(["publish", "--no-build", "--repo", repo]).exit_code == 0
    code, output = fetch(fx, url)
    assert code == 0 and "verified hello 1.1.0" in output, output

    before = tree_digest(metadata_dir(fx.repo_dir))
    wrong = run(["release", "yank", "hello", "1.1.0", "--repo", repo, "--insecure-plaintext",
                 "--key", str(fx.keys["m0"])])
    assert wrong.exit_code == 1 and "0 of 1 required author signatures valid" in wrong.output
    missing = run(["release", "yank", "hello", "9.9.9", "--repo", repo, "--insecure-plaintext",
                   "--key", str(fx.keys["hello"])])
    assert missing.exit_code == 1 and "version 9.9.9 is not published" in missing.output
    assert tree_digest(metadata_dir(fx.repo_dir)) == before  # refusals write nothing

    yanked = run(["release", "yank", "hello", "1.1.0", "--repo", repo, "--insecure-plaintext",
                  "--key", str(fx.keys["hello"]), "--json"])
    assert yanked.exit_code == 0, yanked.output
    assert json.loads(yanked.output)["yanked"] is True

    code, output = fetch(fx, url)
    assert code == 0 and "verified hello 1.0.0" in output, output
    code, output = fetch(fx, url, "--version", "1.1.0")
    assert code == 1 and "hello/1.1.0/hello.hvt': no trusted metadata lists it" in output, output
    listed = json.loads(run(["package", "list", "--repo", repo, "--json"]).output)
    assert listed[0]["versions"] == ["1.0.0"]
    # The yanked version number never names other bytes.
    reuse = release(fx, "hello", "1.1.0", ["hello"], ("hvt",))
    assert reuse.exit_code == 1
    assert "version 1.1.0 was published before (its files are in targets/: yanked?); " \
        "release a new version" in reuse.output
    assert verify_repository(fx.repo_dir, now_utc()).root_version == 1


def test_a_removed_package_is_no_longer_reached(served: tuple[Fixture, str]) -> None:  # noqa: F811
    fx, url = served
    repo = str(fx.repo_dir)
    assert fetch(fx, url)[0] == 0
    proposed = run(["package", "remove", "hello", "--repo", repo, "--json"])
    assert proposed.exit_code == 0, proposed.output
    change_id = json.loads(proposed.output)["id"]
    one = run(["sign", change_id, "--repo", repo, "--insecure-plaintext",
               "--key", str(fx.keys["m0"])])
    assert one.exit_code == 0 and "threshold not reached" in one.output
    assert fetch(fx, url)[0] == 0  # t-1 maintainers change nothing
    two = run(["sign", change_id, "--repo", repo, "--insecure-plaintext",
               "--key", str(fx.keys["m1"]), "--json"])
    assert json.loads(two.output)["committed"] is True

    code, output = fetch(fx, url)
    assert code == 1 and "no trusted role 'pkg-hello'" in output, output
    assert run(["package", "list", "--repo", repo]).output == "no packages\n"
    assert verify_repository(fx.repo_dir, now_utc()).roles >= 257
    again = run(["package", "remove", "hello", "--repo", repo])
    assert again.exit_code == 1 and "is not delegated" in again.output
    # Its published history stays in snapshot: delegating the name again also proposes the
    # role's next version for the new authors to sign (tests/repository/test_redelegation.py).
    readd = run(["package", "add", "hello", "--repo", repo, "--pubkey",
                 str(pub(fx.keys["m2"])), "--json"])
    assert readd.exit_code == 0, readd.output
    assert json.loads(readd.output)["redelegation"] is True


def test_a_removed_package_that_never_published_can_be_delegated_again(
        served: tuple[Fixture, str]) -> None:  # noqa: F811
    fx, _ = served
    delegate(fx, "echo", ["m2"], 1, 2)
    change_id = json.loads(run(["package", "remove", "echo", "--repo", str(fx.repo_dir),
                                "--json"]).output)["id"]
    assert run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m1"])]).exit_code == 0
    delegate(fx, "echo", ["hello"], 1, 2)
    listed = json.loads(run(["package", "list", "--repo", str(fx.repo_dir), "--json"]).output)
    assert [p["name"] for p in listed] == ["echo", "hello"]


def test_removing_a_package_never_delegated_is_refused(served: tuple[Fixture, str],  # noqa: F811
                                                       tmp_path: Path) -> None:
    fx, _ = served
    result = run(["package", "remove", "nothere", "--repo", str(fx.repo_dir)])
    assert (result.exit_code, result.output.strip()) == (
        1, "error: pkg-nothere: package 'nothere' is not delegated")
