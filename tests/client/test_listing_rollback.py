"""The one rollback rule over listings of versions (TUF 5.5.5): a newer snapshot, snapshot-tree
node or bundle must keep every name the trusted one lists, at an equal or higher version.
Each listing the client trusts is checked by the same function; these are the attacks it stops."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import pytest

from tests.client.conftest import Client
from tests.client.simulator import RepositorySimulator, new_signer
from tuf_metadata.client.errors import RollbackError
from tuf_metadata.client.tree import (
    check_bundle_rollback,
    check_listing_kept,
    check_node_rollback,
)
from tuf_metadata.snapshot_tree import Bundle, FileRef, Node

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def entries(**versions: int) -> dict[str, dict[str, Any]]:
    return {f"{name}.json": {"version": version} for name, version in versions.items()}


def ref(version: int) -> FileRef:
    return FileRef.of(version, f"bundle {version}".encode())


@pytest.mark.parametrize(("old", "new", "error"), [
    (entries(a=1, b=2), entries(a=1, b=2), None),
    (entries(a=1, b=2), entries(a=2, b=3, c=1), None),  # raised and added: fine
    (entries(a=1, b=2), entries(a=1), "b.json is no longer listed"),
    (entries(a=1, b=2), entries(a=1, b=1), "b.json version 1 is lower than trusted 2"),
    ({}, entries(a=1), None),
])
def test_a_listing_keeps_every_trusted_name_at_its_version(
    old: dict[str, Any], new: dict[str, Any], error: str | None
) -> None:
    if error is None:
        check_listing_kept("file", old, new, itemgetter("version"))
    else:
        with pytest.raises(RollbackError, match=f"^file: {re.escape(error)}$"):
            check_listing_kept("file", old, new, itemgetter("version"))


def node(version: int, top: dict[str, dict[str, Any]], bundles: dict[str, FileRef]) -> Node:
    return Node(version, EXPIRES, top, bundles)


@pytest.mark.parametrize(("new", "error"), [
    (node(3, entries(root=1, targets=2), {"00": ref(2), "01": ref(1)}), None),
    (node(4, entries(root=1, targets=3), {"00": ref(5), "01": ref(1), "02": ref(1)}), None),
    (node(2, entries(root=1, targets=2), {"00": ref(2), "01": ref(1)}),
     "version 2 is lower than trusted 3"),
    (node(4, entries(root=1), {"00": ref(2), "01": ref(1)}), "targets.json is no longer listed"),
    (node(4, entries(root=1, targets=1), {"00": ref(2), "01": ref(1)}),
     "targets.json version 1 is lower than trusted 2"),
    (node(4, entries(root=1, targets=2), {"00": ref(2)}), "bundle 01 is no longer listed"),
    (node(4, entries(root=1, targets=2), {"00": ref(1), "01": ref(1)}),
     "bundle 00 version 1 is lower than trusted 2"),
])
def test_a_node_that_drops_or_lowers_what_the_trusted_node_listed_is_refused(
    new: Node, error: str | None
) -> None:
    trusted = node(3, entries(root=1, targets=2), {"00": ref(2), "01": ref(1)})
    if error is None:
        check_node_rollback(trusted, new)
    else:
        with pytest.raises(RollbackError, match=re.escape(error)):
            check_node_rollback(trusted, new)


def test_a_bundle_that_drops_or_lowers_an_entry_is_refused() -> None:
    trusted = Bundle("00", 2, entries(**{"pkg-a": 3, "pkg-b": 1}))
    check_bundle_rollback(trusted, Bundle("00", 3, entries(**{"pkg-a": 3, "pkg-b": 2})))
    with pytest.raises(RollbackError, match=r"pkg-b\.json is no longer listed"):
        check_bundle_rollback(trusted, Bundle("00", 3, entries(**{"pkg-a": 3})))
    with pytest.raises(RollbackError, match=r"pkg-a\.json version 2 is lower than trusted 3"):
        check_bundle_rollback(trusted, Bundle("00", 3, entries(**{"pkg-a": 2, "pkg-b": 1})))
    with pytest.raises(RollbackError, match="version 1 is lower than trusted 2"):
        check_bundle_rollback(trusted, Bundle("00", 1, entries(**{"pkg-a": 3, "pkg-b": 1})))


def test_a_snapshot_that_stops_listing_a_trusted_role_is_refused(
    repo: RepositorySimulator, new_client: Callable[[RepositorySimulator], Client]
) -> None:
    repo.delegate("targets", "A", [new_signer()], paths=["a/*"])
    repo.release("targets")
    client = new_client(repo)
    client.refresh()
    before = client.state()
    del repo.delegated["A"]  # the next snapshot no longer lists A.json
    repo.release()
    with pytest.raises(RollbackError, match=r"^snapshot: A\.json is no longer listed$"):
        client.refresh()
    assert client.state()["snapshot.json"] == before["snapshot.json"]
