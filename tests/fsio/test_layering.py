"""fsio is the lowest package: it imports the standard library and itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import fsio


def test_fsio_imports_only_the_standard_library() -> None:
    imported: set[str] = set()
    for source in Path(fsio.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    outside = {name for name in imported - {"fsio"} if name not in sys.stdlib_module_names}
    assert imported and not outside, outside
