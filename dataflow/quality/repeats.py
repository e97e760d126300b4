"""A ``unique`` rule on a field other than the key, judged over the whole file.

Every record sharing such a field's value is quarantined (docs/quality.md).
The Polars engine checks a file batch by batch, so counting a value within one
batch would miss a value repeated across batches; Spark judges the whole file
but words the reasons batch by batch, so the records it flagged would find no
reason (and be lost). Both engines therefore hand the quality stage a
``REPEATED_PREFIX`` column per such field, counted over the whole file:

- the Polars engine reads the file once more before its batches
  (:class:`RepeatCounter`: the field's values, so memory grows with the rows
  of that column, not with the batch), then marks each batch
  (:func:`with_repeated`);
- Spark counts over the whole file with a window (:func:`with_repeated_over`).

A schema without such a rule pays nothing.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import polars as pl

from dataflow.columns import REPEATED_PREFIX
from dataflow.quality.rules import RuleSet


def unique_fields(ruleset: RuleSet) -> list[str]:
    """The fields with a ``unique`` rule, the key's aside (duplicate keys are resolved, last wins)."""
    return sorted(
        {rule.field for rule in ruleset.checks if rule.kind == "unique" and rule.field != ruleset.key}
    )


def repeated_columns(fields: list[str]) -> list[str]:
    return [REPEATED_PREFIX + name for name in fields]


class RepeatCounter:
    """The values of the ``unique`` fields over a file's cleaned batches; which occur twice or more."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        self._parts: dict[str, list[pl.DataFrame]] = {name: [] for name in fields}

    def add(self, clean: pl.DataFrame) -> None:
        for name in self.fields:
            if name in clean.columns:
                self._parts[name].append(clean.select(pl.col(name).drop_nulls()))

    def repeated(self) -> dict[str, pl.Series]:
        """Each field's values found more than once (nulls, which no rule counts, left out)."""
        found = {}
        for name, parts in self._parts.items():
            values = pl.concat(parts, how="vertical_relaxed")[name] if parts else pl.Series(name, [])
            found[name] = values.filter(values.is_duplicated()).unique()
        return found


def with_repeated(frame: pl.DataFrame, repeated: dict[str, pl.Series]) -> pl.DataFrame:
    """``frame`` with a ``REPEATED_PREFIX`` column per field: its value is among ``repeated``."""
    return frame.with_columns(
        pl.col(name).is_in(values.cast(frame.schema[name]).implode()).fill_null(value=False).alias(column)
        for (name, values), column in zip(repeated.items(), repeated_columns(list(repeated)), strict=True)
        if name in frame.columns
    )


def with_repeated_over(frame: Any, fields: list[str]) -> Any:
    """``frame`` (any Narwhals backend: a Spark DataFrame here) with a ``REPEATED_PREFIX`` column
    per field, counted over the whole frame."""
    data = nw.from_native(frame)
    marks = [
        (nw.len().over(name) > 1).alias(column)
        for name, column in zip(fields, repeated_columns(fields), strict=True)
    ]
    return data.with_columns(*marks).to_native()
