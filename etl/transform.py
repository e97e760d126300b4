"""Clean and type one batch of mapped records, and flag what PostgreSQL could not take.

Every record keeps its ``LINE_COLUMN`` so any later stage can name it. Problems
are not raised: they are appended to two list columns, ``CODES_COLUMN`` (rule
codes such as ``index.type``) and ``MESSAGES_COLUMN`` (one human sentence per
code); a record with any code is quarantined instead of loaded.

Written once, in Narwhals: the same expressions run on a Polars frame (the
default engine) and on a PySpark DataFrame (``ingest --engine spark``). The
one engine-specific step, building the problem lists, is in
:mod:`etl.frames`. Each function returns the kind of frame it was
given (a Polars DataFrame for a Polars DataFrame, a Spark DataFrame for a
Spark one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import narwhals as nw

from etl.frames import lists_append
from etl.quality.expressions import date_from_text, integer_from_text
from etl.readers import LINE_COLUMN
from etl.schema import FieldSpec, Schema

RAW_PREFIX = "_raw_"
"""``_raw_<field>``: a typed field's trimmed text before the cast (for messages and quality rules)."""
CODES_COLUMN = "__codes__"
MESSAGES_COLUMN = "__messages__"

MSG_NOT_INTEGER = "{field}: {{}} is not an integer"
MSG_BAD_DATE = "{field}: {{}} matches none of the date formats {formats}"
MSG_REQUIRED = "{field}: required, but empty"
MSG_TOO_LONG = "{field}: {{}} characters, more than the column's {limit}"
MSG_NUL = "{field}: contains a NUL byte, which PostgreSQL text cannot store"
MIN_YEAR, MAX_YEAR = 1, 9999

FrameT = TypeVar("FrameT")
Problem = tuple[nw.Expr, nw.Expr]
"""(code or null, message or null) for one check, row by row."""


def _narwhals(frame: Any) -> Any:
    """``frame`` as a Narwhals frame (Polars or Spark; typed loosely, the caller's type is kept)."""
    return nw.from_native(frame)


@dataclass(frozen=True)
class TransformConfig:
    """Settings of the transform stage."""

    source_file: str
    """Recorded on every loaded row."""
    ingested_at: datetime
    """Recorded on every loaded row (one value per run)."""
    extra_date_formats: tuple[str, ...] = ()
    """strftime formats tried after the schema's own, e.g. ``%d/%m/%Y`` for one partner."""


def _problem(condition: nw.Expr, code: str, message: nw.Expr) -> Problem:
    return (
        nw.when(condition).then(nw.lit(code, dtype=nw.String)),
        nw.when(condition).then(message),
    )


def _with_problems(frame: Any, problems: list[Problem]) -> Any:
    """Append the problems' codes/messages to the list columns (creating them when absent)."""
    return lists_append(
        frame,
        {CODES_COLUMN: [c for c, _m in problems], MESSAGES_COLUMN: [m for _c, m in problems]},
    )


def _text(template: str, value: nw.Expr) -> nw.Expr:
    """``template`` with its one ``{}`` replaced by ``value`` (as text)."""
    before, after = template.split("{}", 1)
    return nw.concat_str(nw.lit(before), value.cast(nw.String), nw.lit(after))


def _quoted(name: str) -> nw.Expr:
    return nw.concat_str(nw.lit("'"), nw.col(name).str.slice(0, 80), nw.lit("'"))


def _typed(spec: FieldSpec, formats: tuple[str, ...]) -> tuple[nw.Expr, Problem | None]:
    text = nw.col(spec.name)
    if spec.type == "integer":
        value = integer_from_text(text)
        message = _text(MSG_NOT_INTEGER.format(field=spec.name), _quoted(spec.name))
        return value, _problem(~text.is_null() & value.is_null(), f"{spec.name}.type", message)
    if spec.type == "date":
        value = date_from_text(text, formats)  # real calendar days only (years 1-9999 by construction)
        listed = ", ".join(formats)
        message = _text(MSG_BAD_DATE.format(field=spec.name, formats=listed), _quoted(spec.name))
        return value, _problem(~text.is_null() & value.is_null(), f"{spec.name}.format", message)
    return text, None


def frame_transform(frame: FrameT, *, schema: Schema, config: TransformConfig) -> FrameT:
    """Trim, empty → null, cast integers and dates; add ``source_file`` and ``ingested_at``.

    A value that does not cast becomes null and its record gets a code
    (``<field>.type`` or ``<field>.format``), so nothing is silently dropped.
    """
    data = _narwhals(frame)
    trimmed = {name: nw.col(name).cast(nw.String).str.strip_chars() for name in schema.field_names}
    cleaned = data.with_columns(
        **{name: nw.when(text.str.len_chars() > 0).then(text) for name, text in trimmed.items()}
    )
    raw_texts = [nw.col(s.name).alias(RAW_PREFIX + s.name) for s in schema.fields if s.type != "string"]
    typed: list[nw.Expr] = []
    problems: list[Problem] = []
    for spec in schema.fields:
        formats = tuple(dict.fromkeys((*spec.formats, *config.extra_date_formats)))
        value, problem = _typed(spec, formats)
        typed.append(value.alias(spec.name))
        if problem is not None:
            problems.append(problem)
        if spec.required:
            message = nw.lit(MSG_REQUIRED.format(field=spec.name))
            problems.append(_problem(nw.col(spec.name).is_null(), f"{spec.name}.required", message))
    with_problems = _with_problems(cleaned.with_columns(*raw_texts), problems)
    out = with_problems.with_columns(
        *typed,
        nw.lit(config.source_file, dtype=nw.String).alias("source_file"),
        nw.lit(config.ingested_at, dtype=nw.Datetime("us", "UTC")).alias("ingested_at"),
    ).select(
        *schema.field_names,
        "source_file",
        "ingested_at",
        LINE_COLUMN,
        *(RAW_PREFIX + s.name for s in schema.fields if s.type != "string"),
        CODES_COLUMN,
        MESSAGES_COLUMN,
    )
    native: FrameT = out.to_native()
    return native


def frame_check_storable(frame: FrameT, *, schema: Schema, limits: dict[str, int]) -> FrameT:
    """Flag what the customers table would refuse: too-long text and NUL bytes.

    ``limits`` are the table's column lengths (field → characters), so a value
    is reported for its record instead of failing the whole load.
    """
    data = _narwhals(frame)
    schema_of = data.collect_schema()
    problems: list[Problem] = []
    for spec in schema.fields:
        column = nw.col(spec.name)
        if schema_of[spec.name] == nw.String:
            problems.append(
                _problem(
                    column.str.contains("\x00", literal=True).fill_null(value=False),
                    f"{spec.name}.nul",
                    nw.lit(MSG_NUL.format(field=spec.name)),
                )
            )
            limit = limits.get(spec.name)
            if limit is not None:
                length = column.str.len_chars()
                message = _text(MSG_TOO_LONG.format(field=spec.name, limit=limit), length)
                problems.append(
                    _problem((length > limit).fill_null(value=False), f"{spec.name}.max_length", message)
                )
    native: FrameT = _with_problems(data, problems).to_native()
    return native


def frame_split(frame: FrameT) -> tuple[FrameT, FrameT]:
    """(records without problems, records with problems)."""
    data = _narwhals(frame)
    bad = nw.col(CODES_COLUMN).list.len() > 0
    valid: FrameT = data.filter(~bad).to_native()
    problems: FrameT = data.filter(bad).to_native()
    return valid, problems
