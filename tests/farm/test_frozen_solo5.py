"""A worker builds every task from one private copy of the Solo5 build inputs, hashed once:
the signed input hash describes exactly the tree the sandbox mounts (builder.farm.work)."""

from __future__ import annotations

from pathlib import Path

from builder.build import BuildRequest
from builder.farm.work import frozen_solo5
from builder.pipeline import solo5_hashes


def request_on(root: Path | None) -> BuildRequest:
    return BuildRequest(ident="hello-1.0.0", target="hvt", files={},
                        plan_for=lambda _build_dir: None,  # type: ignore[arg-type,return-value]
                        source_date_epoch=0, solo5_root=root)


def live_tree(root: Path) -> Path:
    (root / "include").mkdir(parents=True)
    (root / "include" / "solo5.h").write_text("int solo5_app_main(void);\n")
    (root / "lds").mkdir()
    (root / "lds" / "hvt.lds").write_text("SECTIONS {}\n")
    (root / "tenders").mkdir()  # not a build input: not copied
    (root / "tenders" / "hvt.c").write_text("int main(void) { return 0; }\n")
    return root


def test_tasks_build_from_the_frozen_copy_hashed_as_the_live_tree_was(tmp_path: Path) -> None:
    source = live_tree(tmp_path / "solo5")
    expected = solo5_hashes(request_on(source))
    with frozen_solo5(source) as frozen:
        request, hashes = frozen.request_for(request_on(source))
        assert request.solo5_root == frozen.copy != source
        assert hashes == expected and set(expected) == {"include/solo5.h", "lds/hvt.lds"}
        # The live tree changes after the worker started: the builds and their signed hash
        # still describe the copy, byte for byte.
        (source / "include" / "solo5.h").write_text("changed\n")
        again, hashes_again = frozen.request_for(request_on(source))
        assert again.solo5_root == frozen.copy and hashes_again == expected
        assert solo5_hashes(again) == expected
        # A request on another tree (or none) is left alone and hashed as usual.
        other = request_on(tmp_path / "elsewhere")
        assert frozen.request_for(other) == (other, None)
        unplanned = request_on(None)
        assert frozen.request_for(unplanned) == (unplanned, None)
        copy = frozen.copy
    assert not copy.exists()
