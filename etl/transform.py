"""Clean and type one batch of mapped records, and flag what PostgreSQL could not take.

Every record keeps its ``LINE_COLUMN`` so any later stage can name it. Problems
are not raised: they are appended to two list columns, ``CODES_COLUMN`` (rule
codes such as ``index.type``) and ``MESSAGES_COLUMN`` (one human sentence per
code); a record with any code is quarantined instead of loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

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


@dataclass(frozen=True)
class TransformConfig:
    """Settings of the transform stage."""

    source_file: str
    """Recorded on every loaded row."""
    ingested_at: datetime
    """Recorded on every loaded row (one value per run)."""
    extra_date_formats: tuple[str, ...] = ()
    """strftime formats tried after the schema's own, e.g. ``%d/%m/%Y`` for one partner."""


def _problem(condition: pl.Expr, code: str, message: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return (
        pl.when(condition).then(pl.lit(code)).otherwise(pl.lit(None, dtype=pl.String)),
        pl.when(condition).then(message).otherwise(pl.lit(None, dtype=pl.String)),
    )


def _with_problems(frame: pl.DataFrame, problems: list[tuple[pl.Expr, pl.Expr]]) -> pl.DataFrame:
    """Append the problems' codes/messages to the list columns (creating them when absent)."""
    if CODES_COLUMN not in frame.columns:
        empty = pl.lit([], dtype=pl.List(pl.String))
        frame = frame.with_columns(empty.alias(CODES_COLUMN), empty.alias(MESSAGES_COLUMN))
    if not problems:
        return frame
    codes = pl.concat_list([pl.col(CODES_COLUMN), *[c for c, _m in problems]]).list.drop_nulls()
    messages = pl.concat_list([pl.col(MESSAGES_COLUMN), *[m for _c, m in problems]]).list.drop_nulls()
    return frame.with_columns(codes.alias(CODES_COLUMN), messages.alias(MESSAGES_COLUMN))


def _quoted(name: str) -> pl.Expr:
    return pl.format("'{}'", pl.col(name).str.slice(0, 80))


def _typed(spec: FieldSpec, formats: tuple[str, ...]) -> tuple[pl.Expr, tuple[pl.Expr, pl.Expr] | None]:
    text = pl.col(spec.name)
    if spec.type == "integer":
        value = text.cast(pl.Int64, strict=False)
        message = pl.format(MSG_NOT_INTEGER.format(field=spec.name), _quoted(spec.name))
        return value, _problem(text.is_not_null() & value.is_null(), f"{spec.name}.type", message)
    if spec.type == "date":
        parsed = pl.coalesce([text.str.to_date(fmt, strict=False) for fmt in formats])
        in_range = parsed.dt.year().is_between(MIN_YEAR, MAX_YEAR)
        value = pl.when(in_range).then(parsed).otherwise(pl.lit(None, dtype=pl.Date))
        listed = ", ".join(formats)
        message = pl.format(MSG_BAD_DATE.format(field=spec.name, formats=listed), _quoted(spec.name))
        return value, _problem(text.is_not_null() & value.is_null(), f"{spec.name}.format", message)
    return text, None


def frame_transform(frame: pl.DataFrame, *, schema: Schema, config: TransformConfig) -> pl.DataFrame:
    """Trim, empty → null, cast integers and dates; add ``source_file`` and ``ingested_at``.

    A value that does not cast becomes null and its record gets a code
    (``<field>.type`` or ``<field>.format``), so nothing is silently dropped.
    """
    cleaned = frame.lazy().with_columns(
        pl.col(name).str.strip_chars().replace("", None).alias(name) for name in schema.field_names
    )
    raw_texts = [pl.col(s.name).alias(RAW_PREFIX + s.name) for s in schema.fields if s.type != "string"]
    typed: list[pl.Expr] = []
    problems: list[tuple[pl.Expr, pl.Expr]] = []
    for spec in schema.fields:
        formats = tuple(dict.fromkeys((*spec.formats, *config.extra_date_formats)))
        value, problem = _typed(spec, formats)
        typed.append(value.alias(spec.name))
        if problem is not None:
            problems.append(problem)
        if spec.required:
            message = pl.lit(MSG_REQUIRED.format(field=spec.name))
            problems.append(_problem(pl.col(spec.name).is_null(), f"{spec.name}.required", message))
    with_problems = _with_problems(cleaned.with_columns(raw_texts).collect(), problems)
    return with_problems.with_columns(
        *typed,
        pl.lit(config.source_file).alias("source_file"),
        pl.lit(config.ingested_at, dtype=pl.Datetime("us", "UTC")).alias("ingested_at"),
    ).select(
        *schema.field_names,
        "source_file",
        "ingested_at",
        LINE_COLUMN,
        *(RAW_PREFIX + s.name for s in schema.fields if s.type != "string"),
        CODES_COLUMN,
        MESSAGES_COLUMN,
    )


def frame_check_storable(frame: pl.DataFrame, *, schema: Schema, limits: dict[str, int]) -> pl.DataFrame:
    """Flag what the customers table would refuse: too-long text and NUL bytes.

    ``limits`` are the table's column lengths (field → characters), so a value
    is reported for its record instead of failing the whole load.
    """
    problems: list[tuple[pl.Expr, pl.Expr]] = []
    for spec in schema.fields:
        column = pl.col(spec.name)
        if frame.schema[spec.name] == pl.String:
            problems.append(
                _problem(
                    column.str.contains("\x00", literal=True).fill_null(False),
                    f"{spec.name}.nul",
                    pl.lit(MSG_NUL.format(field=spec.name)),
                )
            )
            limit = limits.get(spec.name)
            if limit is not None:
                length = column.str.len_chars()
                message = pl.format(MSG_TOO_LONG.format(field=spec.name, limit=limit), length)
                problems.append(
                    _problem((length > limit).fill_null(False), f"{spec.name}.max_length", message)
                )
    return _with_problems(frame, problems)


def frame_split(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(records without problems, records with problems)."""
    bad = pl.col(CODES_COLUMN).list.len() > 0
    return frame.filter(~bad), frame.filter(bad)
