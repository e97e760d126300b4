"""An error's first line, the one way it is shown: redacted, never raising, never empty when it matters."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from common.errors import error_brief, error_line, error_text, text_line
from testsupport.source import source_tree


class Unreadable(Exception):
    def __str__(self) -> str:
        raise ConnectionRefusedError("the JVM is gone")


def test_error_line_keeps_only_the_first_line() -> None:
    assert error_line(OSError("first line\nsecond line")) == "OSError: first line"
    assert error_line(EOFError()) == "EOFError"


def test_error_text_is_the_first_line_without_surrounding_blanks() -> None:
    assert error_text(ValueError("\n  bad value\nmore")) == "bad value"
    assert error_text(ValueError()) == ""


def test_an_error_whose_message_cannot_be_read_is_still_described() -> None:
    assert error_text(Unreadable()) == "(its message could not be read: ConnectionRefusedError)"


def test_error_brief_is_the_type_when_the_message_is_empty() -> None:
    assert error_brief(KeyError()) == "KeyError"
    assert error_brief(RuntimeError("disk full\ntraceback")) == "disk full"


def test_secrets_never_reach_the_first_line(settings: Any) -> None:
    settings.SFTP_PASSWORD = "hunter2-very-secret"
    error = ConnectionError("login as bob:hunter2-very-secret@sftp failed\nsecond")

    assert "hunter2" not in error_text(error)
    assert "hunter2" not in error_line(error)
    assert "hunter2" not in text_line(str(error))
    assert error_text(error) == "login as bob:[redacted]@sftp failed"


# --- No hand-written first lines ------------------------------------------------------------------
# An error's first line written by hand (``str(exc).splitlines()[0]``) skips the redaction and
# raises on an empty message: the product's code uses common.errors instead.

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "common" / "errors.py"
ERROR_NAMES = ("exc", "err", "error", "message", "problem", "reason")
"""A variable or attribute whose name has one of these holds an error's text."""


def _shows_an_error(node: ast.expr) -> bool:
    """Whether ``node`` is an error's text: ``str(exc)``, an f-string, ``error``, ``run.error_message``..."""
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr.endswith("strip")
    ):
        node = node.func.value
    if isinstance(node, ast.BoolOp):
        return _shows_an_error(node.values[0])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("str", "repr", "format")
    if isinstance(node, ast.JoinedStr):
        return True
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return any(word in name.lower() for word in ERROR_NAMES)


def _lines_of(node: ast.expr) -> ast.expr | None:
    """``x`` when ``node`` cuts ``x`` into lines (``x.splitlines()``, ``x.split("\\n")``, ...)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    newline = (
        bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value in ("\n", "\r\n")
    )
    if node.func.attr == "splitlines" or (node.func.attr in ("split", "rsplit", "partition") and newline):
        return node.func.value
    return None


def _is_first(index: ast.expr) -> bool:
    if isinstance(index, ast.Constant):
        return index.value == 0
    return (
        isinstance(index, ast.Slice)
        and index.lower is None
        and isinstance(index.upper, ast.Constant)
        and index.upper.value == 1
    )


def hand_written_first_lines(source: str) -> list[int]:
    """Lines of ``source`` taking an error's first line by hand."""
    found = []
    for node in ast.walk(source_tree(source)):
        if isinstance(node, ast.Subscript) and _is_first(node.slice):
            text = _lines_of(node.value)
            if text is not None and _shows_an_error(text):
                found.append(node.lineno)
    return found


def _product_modules() -> list[Path]:
    skipped = {".venv", "tests", "testsupport", "migrations", "site", "node_modules"}
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not skipped & set(path.relative_to(ROOT).parts) and path != HELPER
    ]


@pytest.mark.parametrize(
    "code",
    [
        "line = str(exc).splitlines()[0]",
        "line = str(e).split('\\n')[0]",
        "line = str(exc).strip().split('\\n', 1)[0]",
        "line = f'{type(exc).__name__}: {exc}'.splitlines()[0]",
        "line = repr(exc).partition('\\n')[0]",
        "line = (run.error_message or '').strip().splitlines()[0]",
        "line = error.strip().splitlines()[:1]",
    ],
)
def test_each_hand_written_form_is_found(code: str) -> None:
    assert hand_written_first_lines(code) == [1]


def test_first_lines_of_other_texts_are_not_errors() -> None:
    assert hand_written_first_lines("a = __doc__.splitlines()[0]\nb = path.read_text().splitlines()[0]") == []


def test_no_module_takes_an_errors_first_line_by_hand() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _product_modules()
        for line in hand_written_first_lines(path.read_text())
    ]
    assert found == [], "use common.errors (error_text, error_line, error_brief, text_line)"
