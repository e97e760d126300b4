"""The quality stage on Spark: the shared rules decide in Spark, the shared stage words the reasons.

1. Every rule's ``failed`` expression (:func:`etl.quality.expressions.rule_problems`,
   the very expressions the Polars engine runs) and the transform's problem
   lists are evaluated by Spark over the whole file: a record is valid or not.
2. Valid records stay in Spark (COPY, lake).
3. Failing records (few: one quarantine row each) come to the driver and go
   through the shared Polars stage (:func:`etl.pipeline.stage_quality`), reader
   batch by reader batch, so their rule codes, their order and their messages
   are the Polars engine's, character for character.
4. Outliers are per reader batch in the Polars engine (quartiles of each
   batch): here every valid record gets its batch number (a ``Bucketizer``
   over the batches' first lines) and :func:`etl.quality.outliers.outliers_by_batch`,
   the very function the Polars engine runs per batch, computes every batch's
   fences, counts and examples at once, in Spark; only those figures come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import narwhals as nw
import polars as pl

from etl import load
from etl.engines.spark.reader import Spooled
from etl.quality.batch import QualityTally
from etl.quality.expressions import rule_problems
from etl.quality.outliers import OutlierReport, outliers_by_batch, outliers_none
from etl.quality.result import QualityResult
from etl.quality.thresholds import threshold_decide
from etl.readers import LINE_COLUMN
from etl.schema import Schema
from etl.transform import CODES_COLUMN, RAW_PREFIX

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BAD = "_q_bad"
_BATCH = "_q_batch"
_LINE_DOUBLE = "_q_line_double"


@dataclass
class SparkQuality:
    valid: Any
    """Spark DataFrame of the loadable records (the columns of the Polars engine's valid rows)."""
    quarantined: int = 0
    failures: dict[str, int] = field(default_factory=dict)


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out


def _outliers(valid: DataFrame, *, spooled: Spooled, tally: QualityTally) -> dict[int, OutlierReport]:
    """Every reader batch's outliers and valid records (``total``), computed by Spark (a record's
    batch: by its line)."""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    if not spooled.line_ranges:
        return {}
    starts = [float(first) for first, _last in spooled.line_ranges[1:]]
    if starts:  # the batch whose first line is the last one at or before the record's line
        splits = [-float("inf"), *starts, float("inf")]
        lines = valid.withColumn(_LINE_DOUBLE, F.col(LINE_COLUMN).cast("double"))
        bucketed = Bucketizer(splits=splits, inputCol=_LINE_DOUBLE, outputCol=_BATCH).transform(lines)
        numbered = bucketed.withColumn(_BATCH, F.col(_BATCH).cast("int"))
    else:
        numbered = valid.withColumn(_BATCH, F.lit(0))
    frame = nw.from_native(numbered).lazy()
    return outliers_by_batch(
        frame, config=tally.ruleset.outliers, line_column=LINE_COLUMN, batch_column=_BATCH
    )


def _in_part(lines: pl.Expr | Any, first: int, last: int) -> Any:
    return (lines >= first) & (lines <= last)


def spark_quality(
    *,
    clean: DataFrame,
    checked: DataFrame,
    mapped: DataFrame,
    raw: DataFrame,
    spooled: Spooled,
    schema: Schema,
    limits: dict[str, int],
    tally: QualityTally,
) -> SparkQuality:
    """Split ``checked`` (transformed, storable checks done) into valid (Spark) and quarantined (staged).

    ``clean`` is the transform's output before the storable checks (what the
    Polars engine hands its quality stage), ``mapped`` the file's text named as
    the schema's fields, ``raw`` the file as read (spool names); ``tally`` gets
    each reader batch's result, as in the Polars engine.
    """
    from etl.pipeline import stage_quality

    data = nw.from_native(checked)
    dtypes = dict(data.collect_schema())
    raws = {s.name: RAW_PREFIX + s.name for s in schema.fields if RAW_PREFIX + s.name in dtypes}
    today = datetime.now(UTC).date()
    problems = rule_problems(tally.ruleset, dtypes=dtypes, raw_columns=raws, today=today)
    upstream = nw.col(CODES_COLUMN).list.len().fill_null(0) > 0
    bad = nw.any_horizontal(upstream, *(failed for _code, failed, _message in problems), ignore_nulls=True)
    flagged = data.with_columns(bad.alias(BAD)).to_native().persist()
    valid = flagged.filter(~flagged[BAD]).drop(BAD, *raws.values())
    lines = flagged.filter(flagged[BAD]).select(LINE_COLUMN)
    failing = _to_polars(clean.join(lines, on=LINE_COLUMN, how="left_semi"))
    if failing.height:
        texts = _to_polars(mapped.join(lines, on=LINE_COLUMN, how="left_semi"))
        records = _to_polars(raw.join(lines, on=LINE_COLUMN, how="left_semi")).rename(
            spooled.originals(), strict=False
        )
    result = SparkQuality(valid=valid)
    outliers = _outliers(valid, spooled=spooled, tally=tally)
    for batch, (first, last) in enumerate(spooled.line_ranges):
        part_bad = failing.filter(_in_part(pl.col(LINE_COLUMN), first, last))
        batch_outliers = outliers.get(batch) or outliers_none(tally.ruleset.outliers)
        quarantined: list[Any] = []
        failures: dict[str, int] = {}
        examples: dict[str, str] = {}
        if part_bad.height:
            part_text = texts.filter(_in_part(pl.col(LINE_COLUMN), first, last))
            stage = stage_quality(
                frame=part_bad, text=part_text, schema=schema, limits=limits, rules=tally.ruleset
            )
            assert stage.checked is not None
            quarantined, failures, examples = (
                stage.checked.quarantined,
                stage.checked.failures,
                stage.checked.examples,
            )
            part_records = records.filter(_in_part(pl.col(LINE_COLUMN), first, last))
            load.quarantine_copy(frame=load.quarantine_frame(problems=stage.quarantined, raw=part_records))
            result.quarantined += stage.quarantined.height
            for code, count in failures.items():
                result.failures[code] = result.failures.get(code, 0) + count
        tally.add(
            QualityResult(
                valid=pl.DataFrame(),
                quarantined=quarantined,
                read=batch_outliers.total + len(quarantined),
                duplicates=0,
                failures=failures,
                examples=examples,
                verdict=threshold_decide(invalid=0, total=0, thresholds=tally.thresholds),
                outliers=batch_outliers,
            )
        )
    flagged.unpersist()
    return result
