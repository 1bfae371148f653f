"""The builder's verdict agrees with reprotest's on the same fixtures.

reprotest (PyPI, in the venv) builds each package twice with the same recipe
(tests/builder/reprotest_build.py, unsandboxed) varying `time` and
`build_path` (to a deeper path, so the depth changes as in our build B),
and with --auto-build names the variations that matter. Verdict, culprits
and, for the reproducible package, the image hash must match the builder's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builder.plan import load_index
from tests.builder.conftest import PACKAGES, REPO, Built

pytestmark = pytest.mark.sandbox  # runs builds in the bubblewrap sandbox

# PyPI reprotest 0.7.33 calls importlib.resources.files() with no argument, which
# only Python >= 3.12 accepts; on 3.11 give it its own package as the anchor.
RUN_REPROTEST = (
    "import importlib.resources as resources, sys\n"
    "files = resources.files\n"
    "resources.files = lambda anchor=None: files(anchor or 'reprotest')\n"
    "from reprotest import main\n"
    "sys.argv[0] = 'reprotest'\n"
    "sys.exit(main())\n"
)


def reprotest(name: str, tmp_path: Path) -> tuple[int, str]:
    manifest = load_index(PACKAGES)[(name, "1.0.0")]
    source = tmp_path / "source"
    for path in manifest.sources:
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / path, source / path)
    shutil.copyfile(PACKAGES / name / "1.0.0" / "manifest.json", source / "manifest.json")
    build = (
        f"{sys.executable} {REPO / 'tests' / 'builder' / 'reprotest_build.py'} "
        "manifest.json hvt artifact.hvt"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_REPROTEST,
            "--auto-build",
            "--no-diffoscope",
            "--variations=time,build_path",
            f"--vary=build_path.path={tmp_path}/reprotest/i-capture-the-build-path/second/{name}",
            "-s",
            str(source),
            build,
            "artifact.hvt",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def culprits_of(output: str) -> tuple[str, ...]:
    found = re.search(r"varying each of the following:\n(.*?)\nThe build is probably", output, re.S)
    return tuple(found.group(1).split()) if found else ()


@pytest.mark.parametrize("name", ["hello", "unrepro_date", "unrepro_path"])
def test_reprotest_agrees_with_the_builder(built: Built, name: str, tmp_path: Path) -> None:
    ours = built.results[(name, "hvt")]
    status, output = reprotest(name, tmp_path)
    if ours.status == "reproducible":
        assert status == 0, output
        assert "Reproduction successful" in output
        assert f"{ours.sha256}  ./artifact.hvt" in output  # the very same bytes
    else:
        assert status == 1, output
        assert culprits_of(output) == ours.culprits
