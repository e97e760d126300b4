"""CSV for spreadsheets: a partner's value never runs as a formula (CSV injection, issue #14).

The rule (OWASP's, as in defusedcsv): a text cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written with a leading ``'``, which
spreadsheets show as text and never evaluate. Plain numbers (``-12``,
``+3.5``) are left as they are: they cannot be formulas. Applied to every CSV
this project writes: ``ingest --quarantine-csv`` and ``lake query --format csv``.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """``value`` safe for a spreadsheet: formula-leading text gets a ``'`` prefix."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values: list[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]
