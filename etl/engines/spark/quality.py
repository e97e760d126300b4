"""The quality stage on Spark: the shared rules decide in Spark, the shared stage words the reasons.

1. Every rule's ``failed`` expression (:func:`etl.quality.expressions.rule_problems`,
   the very expressions the Polars engine runs) and the transform's problem
   lists are evaluated by Spark over the whole file: a record is valid or not.
2. Valid records stay in Spark (COPY, lake).
3. Failing records (few: one quarantine row each) come to the driver and go
   through the shared Polars stage (:func:`etl.pipeline.stage_quality`), reader
   batch by reader batch, so their rule codes, their order and their messages
   are the Polars engine's, character for character.
4. Outliers are per batch in the Polars engine (quartiles of each batch); to
   give the same figures, the valid records of each reader batch are brought
   to the driver for :func:`etl.quality.outliers.outliers_find` (the one step
   that is not distributed: reporting only, it never changes what loads).
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
from etl.quality.outliers import outliers_find
from etl.quality.result import QualityResult
from etl.quality.thresholds import threshold_decide
from etl.readers import LINE_COLUMN
from etl.schema import Schema
from etl.transform import CODES_COLUMN, RAW_PREFIX

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BAD = "_q_bad"


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
    for first, last in spooled.line_ranges:
        part_bad = failing.filter(_in_part(pl.col(LINE_COLUMN), first, last))
        part_valid = _to_polars(valid.filter(_in_part(valid[LINE_COLUMN], first, last)).orderBy(LINE_COLUMN))
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
        outliers = outliers_find(
            nw.from_native(part_valid), config=tally.ruleset.outliers, line_column=LINE_COLUMN
        )
        tally.add(
            QualityResult(
                valid=part_valid,
                quarantined=quarantined,
                read=part_valid.height + len(quarantined),
                duplicates=0,
                failures=failures,
                examples=examples,
                verdict=threshold_decide(invalid=0, total=0, thresholds=tally.thresholds),
                outliers=outliers,
            )
        )
    flagged.unpersist()
    return result
