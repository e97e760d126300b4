"""Where Polars and Spark really differ, in one place (everything else is Narwhals).

The transform and the quality rules are Narwhals expressions that both engines
run unchanged. Differences that matter, and where they are handled:

- **lenient parsing** (bad text → null, not an error): Polars' ``strict=False``
  has no Spark twin (Spark 4 runs ANSI mode: a bad cast raises). The shared
  expressions guard every cast with a regex (``integer_from_text``,
  ``date_from_text`` in :mod:`dataflow.parsing`), so neither engine
  ever casts text that does not parse; :data:`SPARK_CONF` keeps ANSI on.
- **string length**: ``str.len_chars`` is characters on both (Polars
  ``len_chars``, Spark ``char_length``), never bytes.
- **regex dialect**: Rust ``regex`` vs Java ``java.util.regex``; the patterns
  we ship use only the common subset (classes, ``(?:...)``, anchors,
  quantifiers); :func:`regex_portable` refuses the rest.
- **exact quartiles per batch** (the outlier fences): the same numbers, two
  ways to get them (:func:`quartiles_by_batch`). Polars' ``quantile`` is
  fast on a batch; Spark's exact ``percentile`` keeps every value of a task
  in one map and ran a 1 GiB executor out of memory on a 5M-row file, so
  Spark counts the distinct values instead (:func:`quartiles_from_counts`,
  tested against Polars' ``quantile`` on Polars frames).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
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


Quartiles = list[tuple[nw.Expr, str, str]]
"""``(measure, q1 column, q3 column)`` for :func:`quartiles_by_batch`."""


def quartiles_by_batch(frame: nw.LazyFrame[Any], measures: Quartiles, *, batch_column: str) -> Any:
    """Per batch, Q1 and Q3 of each measure, as a small Polars frame (one row per batch): linear
    interpolation between the two values around ``(n - 1) * q``, nulls left out, which is
    Polars' ``quantile(..., "linear")``."""
    import polars as pl

    if engine_of(frame) == "polars":
        aggregations = [
            expr
            for measure, q1, q3 in measures
            for expr in (
                measure.quantile(0.25, interpolation="linear").alias(q1),
                measure.quantile(0.75, interpolation="linear").alias(q3),
            )
        ]
        if not aggregations:
            return pl.DataFrame()
        return frame.group_by(batch_column).agg(*aggregations).collect(backend="polars").to_native()
    return quartiles_from_counts(frame, measures, batch_column=batch_column)


def quartiles_from_counts(frame: nw.LazyFrame[Any], measures: Quartiles, *, batch_column: str) -> Any:
    """:func:`quartiles_by_batch` from the counts of each batch's distinct values: the engine
    shuffles (batch, value, count) rows, memory bounded whatever the number of distinct values,
    and hands back only the values at the four positions the quartiles need; the
    interpolation is done here."""
    import polars as pl

    if not measures:
        return pl.DataFrame()
    covering = []
    for k, (measure, _q1, _q3) in enumerate(measures):
        counts = (
            frame.select(batch_column, _m=measure.cast(nw.Float64))
            .filter(~nw.col("_m").is_null())
            .group_by(batch_column, "_m")
            .agg(nw.len().alias("_n"))
            .with_columns(
                _upto=nw.col("_n").cum_sum().over(batch_column, order_by="_m"),
                _count=nw.col("_n").sum().over(batch_column),
            )
            .with_columns(_from=nw.col("_upto") - nw.col("_n"))  # the value fills _from.._upto-1
        )
        positions = [(nw.col("_count") - 1) * q for q in (0.25, 0.75)]
        covers = [
            (nw.col("_from") <= bound) & (bound < nw.col("_upto"))
            for position in positions
            for bound in (position.floor(), position.ceil())
        ]
        covering.append(
            counts.filter(nw.any_horizontal(*covers, ignore_nulls=True)).select(
                batch_column, nw.lit(k).cast(nw.Int64).alias("_k"), "_m", "_from", "_upto", "_count"
            )
        )
    rows = nw.concat(covering, how="vertical").collect(backend="polars").to_native()
    found: dict[Any, dict[str, float]] = {}
    for (batch, k), group in rows.group_by(batch_column, "_k"):
        values = group.sort("_from").rows(named=True)
        count = values[0]["_count"]

        def value_at(position: int, values: list[dict[str, Any]] = values) -> float:
            return next(v["_m"] for v in values if v["_from"] <= position < v["_upto"])

        _measure, q1_name, q3_name = measures[k]
        for q, name in ((0.25, q1_name), (0.75, q3_name)):
            position = (count - 1) * q
            low, high = math.floor(position), math.ceil(position)
            v_low = value_at(low)
            found.setdefault(batch, {})[name] = v_low + (position - low) * (value_at(high) - v_low)
    names = [name for _m, q1, q3 in measures for name in (q1, q3)]
    return pl.DataFrame(
        [{batch_column: batch, **dict.fromkeys(names), **values} for batch, values in found.items()],
        schema={batch_column: rows.schema[batch_column], **dict.fromkeys(names, pl.Float64)},
    )


def frame_like(frame: nw.LazyFrame[Any], data: Any) -> nw.LazyFrame[Any]:
    """``data`` (a small Polars frame made on the driver) as a lazy frame of ``frame``'s engine,
    so the two can be joined (Spark broadcasts it)."""
    if engine_of(frame) == "polars":
        return nw.from_native(data.lazy())
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    session = SparkSession.getActiveSession()
    assert session is not None, "a Spark frame without an active session"
    return nw.from_native(F.broadcast(session.createDataFrame(data.to_arrow())))


@contextmanager
def frame_cached(frame: nw.LazyFrame[Any]) -> Iterator[nw.LazyFrame[Any]]:
    """``frame`` computed once for the several queries made of it inside the block
    (Polars: collected; Spark: persisted, then released)."""
    if engine_of(frame) == "polars":
        yield frame.collect().lazy()
        return
    native = frame.to_native().persist()
    try:
        yield nw.from_native(native)
    finally:
        native.unpersist()
