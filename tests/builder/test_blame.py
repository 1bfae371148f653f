"""Blame by bisection on small shell builds: one culprit, several, a combination,
nondeterminism; and a build B that fails is a failure, never published."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.build import BuildRequest
from builder.double import NONDETERMINISTIC, double_build
from builder.variations import select
from tests.builder.conftest import FixedPlan, every_variation

pytestmark = pytest.mark.sandbox  # runs builds in the bubblewrap sandbox


def shell_build(script: str) -> BuildRequest:
    return BuildRequest(
        ident="shell-1.0.0",
        target="hvt",
        files={},
        plan_for=lambda build_dir: FixedPlan({}, (("/bin/sh", "-c", script),), "out", ("/bin/sh",)),
        source_date_epoch=1700000000,
        solo5_root=None,
    )


CASES = [
    ("echo fixed > out", None, ()),
    ('echo "$TZ" > out', None, ("timezone",)),
    ("umask > out; hostname >> out", None, ("domain_host", "umask")),
    ("cat /proc/sys/kernel/random/uuid > out", None, (NONDETERMINISTIC,)),
    ('test "$HOME" = /home/builder || exit 3; echo ok > out', None, ("build b failed",)),
    # Differs only when both change: no single variation, nor either half, explains it.
    (
        'if [ "$TZ" != UTC ] && [ "$LC_ALL" != C.UTF-8 ]; then echo x; fi > out',
        ("locales", "timezone"),
        ("locales+timezone",),
    ),
]


@pytest.mark.parametrize(
    ("script", "names", "culprits"),
    CASES,
    ids=["reproducible", "one", "two", "nondeterministic", "fails", "pair"],
)
def test_bisection_names_the_culprits(
    tmp_path: Path, script: str, names: tuple[str, ...] | None, culprits: tuple[str, ...]
) -> None:
    variations = every_variation() if names is None else select(names, 2)
    result = double_build(shell_build(script), variations, tmp_path)
    if not culprits:
        assert result.status == "reproducible" and result.blame is None
        return
    if culprits == ("build b failed",):
        assert result.status == "failed" and result.sha256 is None
        assert result.reason == "build b failed: build exited with status 3"
        return
    assert result.status == "unreproducible" and result.blame is not None
    assert result.blame.culprits == culprits
    assert result.reason.endswith("blamed on: " + ", ".join(culprits))
    if len(variations) == 14 and culprits != (NONDETERMINISTIC,):
        assert len(result.blame.builds) < 14  # bisection, not one build per variation
