"""Clean and type one batch of mapped records: trim, empty → null, casts, provenance.

Every record keeps its ``LINE_COLUMN`` so any later stage can name it. A value
that does not cast becomes null, and its text is kept in ``_raw_<field>``: the
quality rules (:mod:`dataflow.quality`) judge every record and word every failure,
the ``type`` rule included; the transform flags nothing.

Written once, in Narwhals: the same expressions run on a Polars frame (the
default engine) and on a PySpark DataFrame (``ingest --engine spark``). Each
function returns the kind of frame it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import narwhals as nw

from dataflow.columns import LINE_COLUMN, RAW_PREFIX
from dataflow.parsing import date_from_text, integer_from_text
from dataflow.schema import FieldSpec, Schema

FrameT = TypeVar("FrameT")


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


def _typed(spec: FieldSpec, formats: tuple[str, ...]) -> nw.Expr:
    text = nw.col(spec.name)
    if spec.type == "integer":
        return integer_from_text(text)
    if spec.type == "date":
        return date_from_text(text, formats)  # real calendar days only (years 1-9999 by construction)
    return text


def frame_transform(frame: FrameT, *, schema: Schema, config: TransformConfig) -> FrameT:
    """Trim, empty → null, cast integers and dates; add ``source_file`` and ``ingested_at``.

    A value that does not cast becomes null; its text stays in ``_raw_<field>``
    for the quality rules, so nothing is silently dropped.
    """
    data = _narwhals(frame)
    trimmed = {name: nw.col(name).cast(nw.String).str.strip_chars() for name in schema.field_names}
    cleaned = data.with_columns(
        **{name: nw.when(text.str.len_chars() > 0).then(text) for name, text in trimmed.items()}
    )
    typed_fields = [s for s in schema.fields if s.type != "string"]
    raw_texts = [nw.col(s.name).alias(RAW_PREFIX + s.name) for s in typed_fields]
    typed = [
        _typed(spec, tuple(dict.fromkeys((*spec.formats, *config.extra_date_formats)))).alias(spec.name)
        for spec in schema.fields
    ]
    out = (
        cleaned.with_columns(*raw_texts)
        .with_columns(
            *typed,
            nw.lit(config.source_file, dtype=nw.String).alias("source_file"),
            nw.lit(config.ingested_at, dtype=nw.Datetime("us", "UTC")).alias("ingested_at"),
        )
        .select(
            *schema.field_names,
            "source_file",
            "ingested_at",
            LINE_COLUMN,
            *(RAW_PREFIX + s.name for s in typed_fields),
        )
    )
    native: FrameT = out.to_native()
    return native
