"""Text to typed values, the same way on every engine: guarded casts, never an error.

Every cast is guarded by a regex (an integer of at most 18 digits, a real
calendar day in a given format), so Polars and Spark (ANSI mode) both turn
text that does not parse into null instead of raising. The transform casts
with these; the ``type`` rule judges with the same regexes.
"""

from __future__ import annotations

import re

import narwhals as nw

INTEGER_PATTERN = r"^[+-]?[0-9]{1,18}$"
"""At most 18 digits: every such value fits a signed 64-bit integer."""

_ANY_YEAR = {"%Y": "[0-9]{4}", "%y": "[0-9]{2}"}
_LEAP_YEAR = {
    # divisible by 4, and centuries only when divisible by 400 (1900 no, 2000 yes)
    "%Y": "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)",
    # two digits read as 1970-2069 (as Polars' chrono does): 00 is 2000, a leap year
    "%y": "(?:0[048]|[2468][048]|[13579][26])",
}
_MONTH_DAYS = (  # (months, days) that go together; 29 February is its own case
    ("(?:0[13578]|1[02])", "(?:0[1-9]|[12][0-9]|3[01])"),
    ("(?:0[469]|11)", "(?:0[1-9]|[12][0-9]|30)"),
    ("02", "(?:0[1-9]|1[0-9]|2[0-8])"),
)


def date_regex(fmt: str) -> str:
    """One anchored regex matching exactly the real calendar days written in ``fmt``.

    Month lengths and leap years are spelt out in the regex, so a date is
    checked by a single ``contains`` on any engine (no 2021-02-30, no 1900-02-29).
    """
    tokens = re.findall(r"%.|[^%]", fmt)

    def spelt(year: dict[str, str], month: str, day: str) -> str:
        parts = {"%Y": year["%Y"], "%y": year["%y"], "%m": month, "%d": day}
        return "".join(parts.get(t, re.escape(t[-1])) for t in tokens)

    cases = [spelt(_ANY_YEAR, month, day) for month, day in _MONTH_DAYS]
    cases.append(spelt(_LEAP_YEAR, "02", "29"))
    return "^(?:" + "|".join(cases) + ")$"


def valid_date(text: nw.Expr, fmt: str) -> nw.Expr:
    """``text`` is a real calendar day written in ``fmt``."""
    return text.str.contains(date_regex(fmt)).fill_null(value=False)


def date_from_text(text: nw.Expr, formats: tuple[str, ...]) -> nw.Expr:
    """The date ``text`` names in the first matching format, null when none does."""
    parsed = [nw.when(valid_date(text, fmt)).then(text).str.to_date(fmt) for fmt in formats]
    return parsed[0] if len(parsed) == 1 else nw.coalesce(*parsed)


def integer_from_text(text: nw.Expr) -> nw.Expr:
    return nw.when(text.str.contains(INTEGER_PATTERN)).then(text).cast(nw.Int64)
