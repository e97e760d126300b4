"""Each rule compiled to Narwhals expressions over the whole batch.

A compiled rule is a pair of expressions: ``failed`` (boolean, never null) and
``message`` (the human line for a failing row). They only use operations
Narwhals maps to both Polars and PySpark (regex ``contains``, ``slice``,
``cast``, ``when``, windows ``over``), so the Spark stage can evaluate the very
same rules. No Python runs per row.

Values are judged on their text as the file had it (after trimming): type
checks need the original string (``"12x"`` is not an integer), and messages
quote it. The text of a field comes from its raw column when the transform
kept one (``<field>`` cast, ``raw_columns[<field>]`` original), else from the
field's own column when it is still a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import narwhals as nw

from etl.quality import messages as msg
from etl.quality.rules import Bound, RelativeDate, Rule, RuleSet

INTEGER_PATTERN = r"^[+-]?[0-9]{1,18}$"
"""At most 18 digits: every such value fits a signed 64-bit integer."""


@dataclass(frozen=True)
class FieldInput:
    """Where one field's values are in the frame being checked."""

    text: nw.Expr
    """The value as text (the raw string when available)."""
    value: nw.Expr
    """The typed value (parsed here when the frame still holds a string)."""
    present: nw.Expr
    """The text is neither null nor blank."""


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    failed: nw.Expr
    message: nw.Expr

    @property
    def code(self) -> str:
        return self.rule.code


def preview(text: nw.Expr) -> nw.Expr:
    """``text`` cut to :data:`messages.VALUE_PREVIEW_CHARS` characters for a message."""
    limit = msg.VALUE_PREVIEW_CHARS
    return (
        nw.when(text.str.len_chars() > limit)
        .then(nw.concat_str(text.str.slice(0, limit), nw.lit("…")))
        .otherwise(text)
    )


def _message(code: str, text: nw.Expr, *parts: nw.Expr | str) -> nw.Expr:
    pieces = [nw.lit(p) if isinstance(p, str) else p for p in parts]
    return nw.concat_str(nw.lit(f'{code}: "'), preview(text), nw.lit('" '), *pieces)


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


def _valid_date(text: nw.Expr, fmt: str) -> nw.Expr:
    """``text`` is a real calendar day written in ``fmt``."""
    return text.str.contains(date_regex(fmt)).fill_null(value=False)


def date_from_text(text: nw.Expr, formats: tuple[str, ...]) -> nw.Expr:
    """The date ``text`` names in the first matching format, null when none does."""
    parsed = [nw.when(_valid_date(text, fmt)).then(text).str.to_date(fmt) for fmt in formats]
    return parsed[0] if len(parsed) == 1 else nw.coalesce(*parsed)


def integer_from_text(text: nw.Expr) -> nw.Expr:
    return nw.when(text.str.contains(INTEGER_PATTERN)).then(text).cast(nw.Int64)


def _parses(rule: Rule, text: nw.Expr) -> nw.Expr:
    if rule.field_type == "integer":
        return text.str.contains(INTEGER_PATTERN)
    return nw.any_horizontal(*(_valid_date(text, fmt) for fmt in rule.formats), ignore_nulls=True)


def _resolve(bound: Bound | None, today: date) -> int | date | None:
    return bound.resolve(today) if isinstance(bound, RelativeDate) else bound


def _compile_range(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    low, high = _resolve(rule.min, today), _resolve(rule.max, today)
    is_date = rule.field_type == "date"
    below = field.value < low if low is not None else nw.lit(value=False)
    above = field.value > high if high is not None else nw.lit(value=False)
    low_text = (msg.BEFORE_MIN if is_date else msg.BELOW_MIN).format(min=low)
    high_text = (msg.AFTER_MAX if is_date else msg.ABOVE_MAX).format(max=high)
    failed = (below | above).fill_null(value=False)
    message = nw.when(below.fill_null(value=False)).then(_message(rule.code, field.text, low_text))
    return CompiledRule(rule, failed, message.otherwise(_message(rule.code, field.text, high_text)))


def compile_rule(rule: Rule, field: FieldInput, *, today: date) -> CompiledRule:
    """``rule`` as (failed, message) expressions. A missing value only fails ``required``."""
    text, code = field.text, rule.code
    if rule.kind == "required":
        return CompiledRule(rule, ~field.present, nw.lit(f"{code}: {msg.MISSING}"))
    if rule.kind == "type":
        failed = field.present & ~_parses(rule, text).fill_null(value=False)
        return CompiledRule(rule, failed, _message(code, text, rule.text or ""))
    if rule.kind == "pattern":
        assert rule.pattern is not None
        failed = field.present & ~text.str.contains(rule.pattern).fill_null(value=False)
        return CompiledRule(rule, failed, _message(code, text, rule.text or ""))
    if rule.kind == "range":
        return _compile_range(rule, field, today)
    if rule.kind in ("max_length", "min_length"):
        length = text.str.len_chars()
        too_long = rule.kind == "max_length"
        outside = length > rule.length if too_long else length < rule.length
        template = msg.TOO_LONG if too_long else msg.TOO_SHORT
        before, after = template.split("{length}")
        after = after.format(max=rule.length, min=rule.length)
        failed = field.present & outside.fill_null(value=False)
        return CompiledRule(rule, failed, _message(code, text, before, length.cast(nw.String), after))
    if rule.kind == "allowed":
        shown = ", ".join(str(v) for v in rule.allowed[:10]) + (", …" if len(rule.allowed) > 10 else "")
        allowed = [str(v) for v in rule.allowed]
        failed = field.present & ~text.is_in(allowed).fill_null(value=False)
        return CompiledRule(rule, failed, _message(code, text, msg.NOT_ALLOWED.format(allowed=shown)))
    if rule.kind == "unique":
        repeated = nw.len().over(rule.field) > 1
        return CompiledRule(rule, field.present & repeated, _message(code, text, msg.NOT_UNIQUE))
    raise ValueError(f"no compiler for rule kind {rule.kind!r}")  # the loader only lets known kinds through


def field_input(
    name: str, *, field_type: str, formats: tuple[str, ...], is_string: bool, raw_column: str | None
) -> FieldInput:
    """How to read field ``name``: its text, its typed value and whether it is present."""
    column = nw.col(name)
    if raw_column is not None:  # judged as the transform would read it: trimmed
        text = nw.col(raw_column).cast(nw.String).str.strip_chars()
    else:
        text = column if is_string else column.cast(nw.String)
    present = ~text.is_null() & (text.str.strip_chars().str.len_chars() > 0)
    if not is_string or field_type == "string":
        value = column
    elif field_type == "integer":
        value = integer_from_text(text)
    else:
        value = date_from_text(text, formats)
    return FieldInput(text=text, value=value, present=present.fill_null(value=False))


def compile_rules(
    rules: tuple[Rule, ...],
    *,
    fields: Mapping[str, tuple[str, tuple[str, ...]]],
    dtypes: Mapping[str, nw.dtypes.DType],
    raw_columns: Mapping[str, str],
    today: date,
    key: str,
) -> tuple[list[CompiledRule], dict[str, FieldInput]]:
    """Every rule compiled against a frame with column types ``dtypes``, plus how to
    read each field (``fields``: name -> (type, date formats)). The key's ``unique``
    is not compiled: duplicate keys are resolved (last wins), not quarantined."""
    inputs = {
        name: field_input(
            name,
            field_type=field_type,
            formats=formats,
            is_string=dtypes[name] == nw.String,
            raw_column=raw_columns.get(name),
        )
        for name, (field_type, formats) in fields.items()
    }
    compiled = [
        compile_rule(rule, inputs[rule.field], today=today)
        for rule in rules
        if not (rule.kind == "unique" and rule.field == key)
    ]
    return compiled, inputs


def rule_problems(
    rules: RuleSet,
    *,
    dtypes: Mapping[str, nw.dtypes.DType],
    raw_columns: Mapping[str, str],
    today: date,
) -> list[tuple[str, nw.Expr, nw.Expr]]:
    """``(code, failed, message)`` per rule: lazy expressions any Narwhals backend evaluates,
    for an engine that builds its own problem lists (Spark) instead of calling the stage."""
    compiled, _inputs = compile_rules(
        rules.rules,
        fields={spec.name: (spec.type, spec.formats) for spec in rules.schema.fields},
        dtypes=dtypes,
        raw_columns=raw_columns,
        today=today,
        key=rules.key,
    )
    return [(rule.code, rule.failed, nw.when(rule.failed).then(rule.message)) for rule in compiled]
