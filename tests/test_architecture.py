"""The import rules of ARCHITECTURE.md: each package imports only the packages below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the project packages it may import (ARCHITECTURE.md, "Packages and their one job").
ALLOWED: dict[str, frozenset[str]] = {
    "fsio": frozenset(),
    "signing": frozenset({"fsio"}),
    "tuf_metadata": frozenset({"signing", "fsio"}),
    "solo5": frozenset(),
    "builder": frozenset({"signing", "solo5", "fsio"}),
    "reports": frozenset({"builder", "fsio"}),
    "repo_tool": frozenset({"fsio", "signing", "tuf_metadata", "solo5", "builder", "reports"}),
}


def imported_packages(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Project packages imported by each file of package (relative imports stay inside)."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(root))] = (names & set(ALLOWED)) - {package}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_architecture_allows(package: str) -> None:
    wrong = {
        file: sorted(imports - ALLOWED[package])
        for file, imports in imported_packages(package).items()
        if imports - ALLOWED[package]
    }
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_every_python_package_is_in_the_map() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(ALLOWED), "add the package to ARCHITECTURE.md and ALLOWED"


def test_checker_sees_imports_anywhere_in_a_file(tmp_path: Path) -> None:
    (tmp_path / "signing").mkdir()
    (tmp_path / "signing" / "late.py").write_text(
        "def f() -> None:\n    import builder.plan\n    from tuf_metadata import layout\n"
        "from . import keys\nimport fsio\n"
    )
    assert imported_packages("signing", tmp_path) == {
        "signing/late.py": {"builder", "tuf_metadata", "fsio"}
    }
