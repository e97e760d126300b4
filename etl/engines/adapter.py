"""Where Polars and Spark really differ, in one place (everything else is Narwhals).

The transform and the quality rules are Narwhals expressions that both engines
run unchanged. Differences that matter, and where they are handled:

- **lenient parsing** (bad text → null, not an error): Polars' ``strict=False``
  has no Spark twin (Spark 4 runs ANSI mode: a bad cast raises). The shared
  expressions guard every cast with a regex (``integer_from_text``,
  ``date_from_text`` in :mod:`etl.quality.expressions`), so neither engine
  ever casts text that does not parse; :data:`SPARK_CONF` keeps ANSI on.
- **string length**: ``str.len_chars`` is characters on both (Polars
  ``len_chars``, Spark ``char_length``), never bytes.
- **regex dialect**: Rust ``regex`` vs Java ``java.util.regex``; the patterns
  we ship use only the common subset (classes, ``(?:...)``, anchors,
  quantifiers); :func:`regex_portable` refuses the rest.
- **list columns** (the ``__codes__``/``__messages__`` problem lists):
  Narwhals cannot build a list from several columns, so :func:`lists_append`
  does it natively, per engine.
"""

from __future__ import annotations

import re
from typing import Any

import narwhals as nw

SPARK_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
"""Spark settings the shared expressions rely on (UTC timestamps, ANSI errors never hidden)."""

_NOT_PORTABLE = re.compile(r"\(\?[P<]|\\[AZzbBpP]|\(\?[imsx]|\[\[:|\\[0-9]")
REGEX_NOT_PORTABLE = "regex {pattern!r} uses syntax that Polars and Spark read differently"


def regex_portable(pattern: str) -> bool:
    """True when ``pattern`` avoids what Rust regex and Java regex disagree on
    (named groups, inline flags, ``\\A``/``\\Z``, word boundaries, Unicode classes,
    POSIX classes, back references)."""
    return _NOT_PORTABLE.search(pattern) is None


def engine_of(frame: Any) -> str:
    """``polars`` or ``spark``: which engine holds ``frame`` (native or Narwhals)."""
    native = frame.to_native() if isinstance(frame, nw.DataFrame | nw.LazyFrame) else frame
    module = type(native).__module__
    if module.startswith("polars"):
        return "polars"
    if module.startswith("pyspark"):
        return "spark"
    raise TypeError(f"no engine for frame type {type(native).__name__}")


def _polars_lists(native: Any, column: str, parts: list[str], *, exists: bool) -> Any:
    import polars as pl

    base = pl.col(column) if exists else pl.lit([], dtype=pl.List(pl.String))
    return native.with_columns(pl.concat_list([base, *parts]).list.drop_nulls().alias(column))


def _spark_lists(native: Any, column: str, parts: list[str], *, exists: bool) -> Any:
    from pyspark.sql import functions as F

    base = F.col(column) if exists else F.array().cast("array<string>")
    joined = F.concat(base, F.array(*(F.col(p) for p in parts))) if parts else base
    return native.withColumn(column, F.filter(joined, lambda value: value.isNotNull()))


def lists_append(frame: Any, lists: dict[str, list[nw.Expr]]) -> Any:
    """``frame`` (Narwhals) with each list column in ``lists`` extended by the
    non-null values of its expressions (row by row); absent list columns are created."""
    names = {column: [f"_a_{column}_{i}" for i in range(len(exprs))] for column, exprs in lists.items()}
    temp = [e.alias(n) for column, exprs in lists.items() for e, n in zip(exprs, names[column], strict=True)]
    with_parts = frame.with_columns(*temp) if temp else frame
    native = with_parts.to_native()
    build = _polars_lists if engine_of(native) == "polars" else _spark_lists
    for column, parts in names.items():
        native = build(native, column, parts, exists=column in frame.columns)
    out = nw.from_native(native)
    dropped = [n for parts in names.values() for n in parts]
    return out.drop(dropped) if dropped else out
