"""ARCHITECTURE.md stays true: the import rules of its package table, the modules its maps name,
the folders it covers and the modules it calls pure. The rules are read from the page itself, so
changing a rule means changing the page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

# Folders that are no import package: tests, benchmarks, docs, package manifests, CI.
NOT_PACKAGES = frozenset({"tests", "bench", "docs", "packages", ".ci"})

# Modules the page calls pure (values in, values out): none of them reads or writes anything.
PURE_MODULES = (
    "tuf_metadata/trust.py",
    "tuf_metadata/canonical.py",
    "tuf_metadata/rotate.py",
    "tuf_metadata/repo_policy.py",
    "tuf_metadata/snapshot_tree.py",
    "tuf_metadata/client/trusted.py",
    "tuf_metadata/client/tree.py",
    "builder/manifest.py",
    "builder/variations.py",
    "builder/gate.py",
    "builder/rebuilder_policy.py",
    "builder/publication.py",
    "builder/reference.py",
)
IO_MODULES = frozenset({
    "os", "io", "shutil", "subprocess", "socket", "tempfile", "urllib", "http", "requests",
    "fsio", "sqlite3", "select", "signal", "ssl",
})
IO_CALLS = frozenset({
    "open", "read_bytes", "read_text", "write_bytes", "write_text", "mkdir", "unlink",
    "rename", "iterdir", "glob", "rglob", "exists", "stat", "touch", "rmdir",
})


def section(text: str, heading: str) -> str:
    """The body of the markdown section whose heading line is exactly heading."""
    start = text.index(heading + "\n") + len(heading) + 1
    following = re.search(r"^#{1,3} ", text[start:], re.MULTILINE)
    return text[start:start + following.start()] if following else text[start:]


def table_rows(body: str) -> list[list[str]]:
    """The cells of each row of the first table in body (header and rule dropped)."""
    rows = [line for line in body.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def allowed_imports(text: str) -> dict[str, frozenset[str]]:
    """package -> the packages of ours it may import, from the "may import" column."""
    allowed: dict[str, frozenset[str]] = {}
    for folder, _job, may_import in table_rows(section(text, "## Packages and their one job")):
        package = folder.strip("`/")
        if may_import == "everything above":
            allowed[package] = frozenset(allowed)
        else:
            allowed[package] = frozenset(re.findall(r"`(\w+)`", may_import))
    return allowed


def mapped_modules(text: str, package: str) -> set[str]:
    """Files (and folders, ending in /) of package the "PACKAGE, inside" table names; a bare
    name in a row that starts with a subfolder's module lives in that subfolder."""
    names: set[str] = set()
    for row in table_rows(section(text, f"### {package}, inside")):
        folder = ""
        for name in re.findall(r"`([\w/]+(?:\.py|/))`", row[0]):
            if "/" in name.rstrip("/"):
                folder = name.rsplit("/", 1)[0] + "/"
            names.add(name if "/" in name else folder + name)
        names.update(re.findall(r"`(\w+/\w+\.py)`", row[1]))
    return {f"{package}/{name}" for name in names}


TEXT = ARCHITECTURE.read_text()
ALLOWED = allowed_imports(TEXT)


def imported_modules(path: Path) -> set[str]:
    """Absolute module names path imports, anywhere in the file (`from a.b import c` gives a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def imported_packages(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Project packages imported by each file of package (relative imports stay inside)."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        tops = {name.split(".")[0] for name in imported_modules(path)}
        found[str(path.relative_to(root))] = (tops & set(ALLOWED)) - {package}
    return found


def test_the_package_table_reads_as_written() -> None:
    assert ALLOWED["fsio"] == frozenset() and ALLOWED["solo5"] == frozenset()
    assert ALLOWED["tuf_metadata"] == {"signing", "fsio"}
    assert ALLOWED["repo_tool"] == set(ALLOWED) - {"repo_tool"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_architecture_allows(package: str) -> None:
    wrong = {
        file: sorted(imports - ALLOWED[package])
        for file, imports in imported_packages(package).items()
        if imports - ALLOWED[package]
    }
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_nothing_imports_repo_tool() -> None:
    assert "Nothing imports `repo_tool`" in TEXT
    importers = {
        file for package in ALLOWED if package != "repo_tool"
        for file, imports in imported_packages(package).items() if "repo_tool" in imports
    }
    assert not importers


def test_reports_takes_only_the_status_enum_from_builder() -> None:
    assert "`builder` (the status enum)" in TEXT
    used = {
        name for path in (ROOT / "reports").rglob("*.py")
        for name in imported_modules(path) if name.split(".")[0] == "builder"
    }
    assert used <= {"builder.status"}, used


def test_every_python_package_is_in_the_map() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_PACKAGES
    assert packages == set(ALLOWED), "add the package to ARCHITECTURE.md's package table"


def test_every_c_folder_is_in_the_map() -> None:
    # Only the tree's own folders: a clone's .venv/ (which `make test` creates) holds C too.
    tree = [path for path in ROOT.iterdir() if path.is_dir()
            and not path.name.startswith(".") and path.name not in ignored_folders()]
    c_folders = {
        folder.name for folder in tree
        if any(next(folder.rglob(pattern), None) for pattern in ("*.c", "*.h", "*.S"))
    }
    assert c_folders, "no C found"
    missing = {folder for folder in c_folders if f"`{folder}/`" not in TEXT}
    assert not missing, f"C folders ARCHITECTURE.md does not name: {sorted(missing)}"


@pytest.mark.parametrize("package", ["tuf_metadata", "builder"])
def test_the_inside_map_names_every_module_and_only_real_ones(package: str) -> None:
    named = mapped_modules(TEXT, package)
    folders = {name for name in named if name.endswith("/")}
    modules = {
        str(path.relative_to(ROOT)) for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    unnamed = {m for m in modules - named if not any(m.startswith(f) for f in folders)}
    assert not unnamed, f"modules missing from '### {package}, inside': {sorted(unnamed)}"
    gone = {name for name in named if not (ROOT / name).exists()}
    assert not gone, f"'### {package}, inside' names what does not exist: {sorted(gone)}"


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_do_no_io(module: str) -> None:
    inside = module.split("/", 1)[1]
    row = next(line for line in TEXT.splitlines() if line.startswith("|") and (
        f"`{inside}`" in line or f"`{Path(module).name}`" in line))
    assert "pure" in row, f"ARCHITECTURE.md no longer calls {module} pure: {row}"
    path = ROOT / module
    io_imports = {name for name in imported_modules(path) if name.split(".")[0] in IO_MODULES}
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in IO_CALLS)
            or (isinstance(node.func, ast.Name) and node.func.id == "open"))
    }
    assert not io_imports and not calls, f"{module} does I/O: {sorted(io_imports | calls)}"


def test_checker_sees_imports_anywhere_in_a_file(tmp_path: Path) -> None:
    (tmp_path / "signing").mkdir()
    (tmp_path / "signing" / "late.py").write_text(
        "def f() -> None:\n    import builder.plan\n    from tuf_metadata import layout\n"
        "from . import keys\nimport fsio\n"
    )
    assert imported_packages("signing", tmp_path) == {
        "signing/late.py": {"builder", "tuf_metadata", "fsio"}
    }


def test_map_reader_places_bare_names_in_their_subfolder() -> None:
    text = (
        "### pkg, inside\n\n| module | job |\n|---|---|\n"
        "| `a.py` | one |\n| `sub/b.py`, `c.py` | two, `sub/d.py` |\n| `farm/` | three |\n"
    )
    assert mapped_modules(text, "pkg") == {
        "pkg/a.py", "pkg/sub/b.py", "pkg/sub/c.py", "pkg/sub/d.py", "pkg/farm/",
    }


def test_every_repo_tool_module_is_named() -> None:
    modules = {path.relative_to(ROOT / "repo_tool") for path in (ROOT / "repo_tool").rglob("*.py")}
    unnamed = sorted(
        str(module) for module in modules if module.name != "__init__.py"
        and f"`{module.name}`" not in TEXT and f"`repo_tool/{module}`" not in TEXT
        and f"`repo_tool.{module.stem}`" not in TEXT
    )
    assert not unnamed, f"repo_tool modules ARCHITECTURE.md does not name: {unnamed}"


def ignored_folders(root: Path = ROOT) -> set[str]:
    """Top-level folders .gitignore names (`name/` lines): build output, caches, the venv."""
    lines = (root / ".gitignore").read_text().splitlines()
    return {line.strip().strip("/") for line in lines if re.fullmatch(r"[\w.-]+/", line.strip())}


def test_every_top_level_folder_is_named() -> None:
    folders = {
        path.name for path in ROOT.iterdir()
        if path.is_dir() and path.name != ".git" and not path.name.endswith(".egg-info")
    } - ignored_folders()
    assert {"tests", ".ci", "runtime"} <= folders
    unnamed = sorted(folder for folder in folders if f"`{folder}/" not in TEXT)
    assert not unnamed, f"top-level folders ARCHITECTURE.md does not name: {unnamed}"
