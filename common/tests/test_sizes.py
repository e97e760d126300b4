"""Small enough to read in one sitting: no function over 60 lines, no module over 400 lines
(outside tests and migrations). A function counts from its ``def`` to its last line."""

from __future__ import annotations

import ast
from pathlib import Path

from testsupport.source import source_tree

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400
SKIPPED = {".venv", "tests", "testsupport", "migrations", "site", "node_modules", ".git"}


def long_functions(source: str, *, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """``(name, lines)`` of every function (methods and nested ones too) longer than ``limit``."""
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(source_tree(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > limit
    ]


def _modules() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py")) if not SKIPPED & set(p.relative_to(ROOT).parts)]


def test_the_scan_sees_the_project_s_modules() -> None:
    names = {str(p.relative_to(ROOT)) for p in _modules()}
    assert {"ingestion/pipeline.py", "dataflow/stages.py", "config/settings.py", "bench/ingest.py"} <= names
    assert not any("/tests/" in name or "/migrations/" in name for name in names)


def test_a_function_over_the_limit_is_found_with_its_length() -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    source = f"class A:\n    def short(self):\n        return 1\n\n    def long(self):\n{body}\n"
    assert long_functions(source) == [("long", 61)]


def test_no_function_is_over_60_lines() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name} ({lines} lines)"
        for path in _modules()
        for name, lines in long_functions(path.read_text())
    ]
    assert found == [], "split these functions (at most 60 lines each)"


def test_no_module_is_over_400_lines() -> None:
    found = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert found == [], "split these modules into a package that re-exports their names (at most 400 lines)"
