"""Processed records on Spark: Spark writes the Parquet parts a hook asks for, in parallel.

The Polars engine hands each batch to the hooks; a hook that publishes
processed records (the lake's) spools them as Parquet parts and, after the
PostgreSQL commit, uploads them. Here Spark writes the whole run's parts
into the hook's ``parts_folder``, with the columns of
:func:`dataflow.processed.processed_frame`; the hook's ``after_commit`` is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dataflow.processed import SOURCE_LINE
from dataflow.readers import LINE_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def spark_processed_frame(*, raw: DataFrame, valid: DataFrame, extras: Mapping[str, str]) -> DataFrame:
    """Loadable records with the file's extra (unmapped) columns, keyed by line.

    ``extras`` maps the spool's column names to the file's (``_c7`` → ``contact.phone``).
    """
    from pyspark.sql import functions as F

    frame = valid.drop(*[c for c in valid.columns if c.startswith("__") and c != LINE_COLUMN])
    order = [*frame.columns, *extras]  # the valid columns, then the extras (a join puts its key first)
    if extras:
        frame = frame.join(raw.select(LINE_COLUMN, *extras), on=LINE_COLUMN, how="left")
    return frame.select(
        *(F.col(f"`{c}`").alias(SOURCE_LINE if c == LINE_COLUMN else extras.get(c, c)) for c in order)
    )


def spark_lake_write(*, frame: DataFrame, folder: Path) -> list[Path]:
    """Write ``frame`` as Parquet parts into ``folder`` (one file per Spark partition); the parts."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    frame.write.mode("overwrite").parquet(str(folder))
    return sorted(folder.glob("part-*.parquet"))
