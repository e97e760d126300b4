"""The quality stage on Spark: the shared rules decide in Spark, the shared stage words the reasons.

1. Every rule's ``failed`` expression (:func:`dataflow.quality.expressions.rule_problems`,
   the very expressions the Polars engine runs, storage limits included) is
   evaluated by Spark over the whole file: a record is valid or not.
2. Valid records stay in Spark (COPY, lake).
3. Failing records (one quarantine row each) are written by the executors as
   Parquet partitioned by reader batch; the driver reads them one batch at a
   time (memory bounded by the batch, as in the Polars engine) through the
   shared Polars stage (:func:`dataflow.stages.stage_quality`), so their rule
   codes, their order and their messages are the Polars engine's, character
   for character.
4. Outliers are per reader batch in the Polars engine (quartiles of each
   batch): here every valid record gets its batch number (a ``Bucketizer``
   over the batches' first lines) and :func:`dataflow.quality.outliers.outliers_by_batch`,
   the very function the Polars engine runs per batch, computes every batch's
   fences, counts and examples at once, in Spark; only those figures come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals as nw
import polars as pl

from dataflow.columns import RAW_PREFIX
from dataflow.engines.errors import SPARK_QUALITY_MISMATCH, SparkQualityMismatch
from dataflow.engines.spark.reader import Spooled
from dataflow.quality.batch import QualityTally
from dataflow.quality.expressions import rule_problems
from dataflow.quality.outliers import OutlierReport, outliers_by_batch, outliers_none
from dataflow.quality.repeats import repeated_columns, unique_fields, with_repeated_over
from dataflow.quality.result import QualityResult
from dataflow.quality.thresholds import threshold_decide
from dataflow.readers import LINE_COLUMN
from dataflow.stages import quarantine_stage, stage_quality

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BAD = "_q_bad"
FAILING_DIR = "failing"
"""Under the run's spool: the failing records by reader batch (:class:`_FailingSpill`)."""
_BATCH = "_q_batch"
_LINE_DOUBLE = "_q_line_double"


@dataclass
class SparkQuality:
    valid: Any
    """Spark DataFrame of the loadable records (the columns of the Polars engine's valid rows)."""
    quarantined: int = 0


def _numbered(frame: DataFrame, *, spooled: Spooled) -> DataFrame:
    """``frame`` with each record's reader batch in ``_BATCH``: the batch whose first line is the
    last one at or before the record's (a ``Bucketizer``: a binary search per record, no shuffle)."""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    starts = [float(first) for first, _last in spooled.line_ranges[1:]]
    if not starts:
        return frame.withColumn(_BATCH, F.lit(0))
    splits = [-float("inf"), *starts, float("inf")]
    lines = frame.withColumn(_LINE_DOUBLE, F.col(LINE_COLUMN).cast("double"))
    bucketed = Bucketizer(splits=splits, inputCol=_LINE_DOUBLE, outputCol=_BATCH).transform(lines)
    return bucketed.drop(_LINE_DOUBLE).withColumn(_BATCH, F.col(_BATCH).cast("int"))


def _outliers(valid: DataFrame, *, spooled: Spooled, tally: QualityTally) -> dict[int, OutlierReport]:
    """Every reader batch's outliers and valid records (``total``).

    Computed by Spark over the whole file, except for a file of one batch:
    its valid records (at most ``batch_size``, what the Polars engine holds)
    come to the driver, which saves Spark's per-query cost (~20 s here).
    """
    if not spooled.line_ranges:
        return {}
    config = tally.ruleset.outliers
    numbered = _numbered(valid, spooled=spooled)
    lazy: nw.LazyFrame[Any] = nw.from_native(numbered).lazy()
    if len(spooled.line_ranges) == 1:
        needed = [LINE_COLUMN, _BATCH, *dict.fromkeys(check.field for check in config.checks)]
        native = pl.from_arrow(numbered.select(*needed).toArrow())
        assert isinstance(native, pl.DataFrame)
        lazy = nw.from_native(native.lazy())
    return outliers_by_batch(lazy, config=config, line_column=LINE_COLUMN, batch_column=_BATCH)


class _FailingSpill:
    """The failing records, written by the executors as Parquet partitioned by reader batch, so the
    driver holds one batch of them at a time (as the Polars engine does), never all of them."""

    def __init__(self, folder: Path, *, lines: DataFrame, frames: dict[str, DataFrame]) -> None:
        self.folder = folder
        for name, frame in frames.items():
            failing = frame.join(lines, on=LINE_COLUMN, how="inner")
            failing.write.mode("overwrite").partitionBy(_BATCH).parquet(str(folder / name))

    def batch(self, name: str, batch: int) -> pl.DataFrame | None:
        files = sorted((self.folder / name / f"{_BATCH}={batch}").glob("*.parquet"))
        return pl.read_parquet(files) if files else None


def _flagged(clean: DataFrame, *, tally: QualityTally) -> tuple[DataFrame, list[str]]:
    """``clean`` with ``BAD`` (the record fails a rule), persisted; and its raw text columns."""
    data = nw.from_native(clean)
    dtypes = dict(data.collect_schema())
    fields = tally.ruleset.schema.fields
    raws = {s.name: RAW_PREFIX + s.name for s in fields if RAW_PREFIX + s.name in dtypes}
    today = datetime.now(UTC).date()
    problems = rule_problems(tally.ruleset, dtypes=dtypes, raw_columns=raws, today=today)
    failed = [failed for _code, failed, _message in problems]
    bad = nw.any_horizontal(*failed, ignore_nulls=True) if failed else nw.lit(value=False)
    return data.with_columns(bad.alias(BAD)).to_native().persist(), list(raws.values())


def _batch_checked(
    spill: _FailingSpill | None,
    batch: int,
    *,
    spooled: Spooled,
    tally: QualityTally,
    outliers: dict[int, OutlierReport],
) -> tuple[QualityResult, int]:
    """One reader batch's figures for the tally, its failing records judged and worded by the
    Polars stage and staged for quarantine; and how many were staged."""
    batch_outliers = outliers.get(batch) or outliers_none(tally.ruleset.outliers)
    part_bad = spill.batch("clean", batch) if spill is not None else None
    quarantined: list[Any] = []
    failures: dict[str, int] = {}
    examples: dict[str, str] = {}
    stored = 0
    if spill is not None and part_bad is not None:
        stage = stage_quality(frame=part_bad, rules=tally.ruleset)
        checked = stage.checked
        quarantined, failures, examples = checked.quarantined, checked.failures, checked.examples
        if len(quarantined) != part_bad.height:
            raise SparkQualityMismatch(
                SPARK_QUALITY_MISMATCH.format(flagged=part_bad.height, batch=batch, worded=len(quarantined))
            )
        part_records = spill.batch("raw", batch)
        assert part_records is not None
        part_records = part_records.rename(spooled.originals(), strict=False)
        stored = quarantine_stage(stage.quarantined, raw=part_records)
    result = QualityResult(
        valid=pl.DataFrame(),
        quarantined=quarantined,
        read=batch_outliers.total + len(quarantined),
        duplicates=0,
        failures=failures,
        examples=examples,
        verdict=threshold_decide(invalid=0, total=0, thresholds=tally.thresholds),
        outliers=batch_outliers,
    )
    return result, stored


def spark_quality(*, clean: DataFrame, raw: DataFrame, spooled: Spooled, tally: QualityTally) -> SparkQuality:
    """Split ``clean`` (the transform's output) into valid (Spark) and quarantined (staged) records.

    ``raw`` is the file as read (spool names); ``tally`` gets each reader
    batch's result, as in the Polars engine.
    """
    repeated = unique_fields(tally.ruleset)
    if repeated:  # counted over the whole file, spilled with the failing records for their wording
        clean = with_repeated_over(clean, repeated)
    flagged, raw_columns = _flagged(clean, tally=tally)
    valid = flagged.filter(~flagged[BAD]).drop(BAD, *raw_columns, *repeated_columns(repeated))
    lines = flagged.filter(flagged[BAD]).select(LINE_COLUMN)
    spill = None
    if spooled.line_ranges and not lines.isEmpty():
        spill = _FailingSpill(
            spooled.folder / FAILING_DIR,
            lines=_numbered(lines, spooled=spooled),
            frames={"clean": clean, "raw": raw},
        )
    result = SparkQuality(valid=valid)
    outliers = _outliers(valid, spooled=spooled, tally=tally)
    for batch in range(len(spooled.line_ranges)):
        checked, stored = _batch_checked(spill, batch, spooled=spooled, tally=tally, outliers=outliers)
        tally.add(checked)
        result.quarantined += stored
    flagged.unpersist()
    return result
