"""Parsing the project's own source in tests that read it (sizes, error-line helpers)."""

from __future__ import annotations

import ast

# CPython 3.11 keeps the AST constructor's recursion count in per-interpreter state
# (python/cpython#106905, reworked in later releases): when another thread builds an
# AST meanwhile (3.11's traceback module parses source to place its carets, e.g. a
# server thread of an earlier test logging an exception), the count is off and
# ``ast.parse`` raises "AST constructor recursion depth mismatch" (seen once in a full
# run of the suite, in common/tests/test_errors.py). The source is fine: parsing it
# again gives its tree.
_RACE = "AST constructor recursion depth mismatch"
_ATTEMPTS = 5


def source_tree(source: str) -> ast.Module:
    """``ast.parse(source)``, parsed again when CPython 3.11's AST-constructor race interrupts it."""
    for attempt in range(_ATTEMPTS):
        try:
            return ast.parse(source)
        except SystemError as exc:
            if _RACE not in str(exc) or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
