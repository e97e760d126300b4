"""The processed records' contract: what each engine hands the lake for the processed zone.

A run's loadable records, with the file's extra (unmapped) columns joined back
by line, the line named :data:`SOURCE_LINE`. The Polars engine builds them batch
by batch (:func:`processed_frame`, called by the lake's hook); the Spark engine
writes the same columns itself (``dataflow.engines.spark.lake``).
"""

from __future__ import annotations

import polars as pl

from dataflow.columns import LINE_COLUMN

SOURCE_LINE = "source_line"
"""The processed zone's name for the record's line in the file."""


def processed_frame(*, raw: pl.DataFrame, valid: pl.DataFrame, extras: list[str]) -> pl.DataFrame:
    """The batch's loadable records with the file's ``extras`` (unmapped columns) joined back by line."""
    extras = [c for c in extras if c != LINE_COLUMN and c not in valid.columns and c in raw.columns]
    frame = valid.drop([c for c in valid.columns if c.startswith("__") and c != LINE_COLUMN])
    if extras and LINE_COLUMN in frame.columns:
        frame = frame.join(raw.select([LINE_COLUMN, *extras]), on=LINE_COLUMN, how="left")
    return frame.rename({LINE_COLUMN: SOURCE_LINE}) if LINE_COLUMN in frame.columns else frame
