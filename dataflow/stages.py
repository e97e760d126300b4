"""The stages of one file, shared by every engine.

Each stage is a small function over the modules that do the work (readers,
mapping, transform, quality, load): an engine calls them in order and only
decides how frames are held and moved. :func:`file_setup` is what every engine
does before its first batch; :func:`quarantine_stage` and :func:`set_aside_stage`
are the only places records go to quarantine (failing the rules, or not parsed).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from django.utils import timezone

from dataflow import load
from dataflow.context import STAGE_MAP, STAGE_READ, IngestOptions, ProgressReporter, RunOutcome, StageContext
from dataflow.mapping import ColumnMapping, columns_map, frame_map
from dataflow.quality import QualityResult, RuleSet
from dataflow.quality.batch import QualityTally, batch_check, quality_setup
from dataflow.quality.repeats import RepeatCounter, unique_fields
from dataflow.readers import LINE_COLUMN, RawBatch, RecordReader, SetAside, open_reader
from dataflow.schema import Schema
from dataflow.transform import TransformConfig, frame_transform


def file_checksum(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def stage_read(*, ctx: StageContext, batch_size: int) -> RecordReader:
    max_bytes = ctx.options.max_bytes if ctx.options is not None else 0
    return open_reader(ctx.path, batch_size=batch_size, name=ctx.filename, max_bytes=max_bytes)


def stage_map(*, columns: list[str], schema: Schema) -> ColumnMapping:
    return columns_map(columns, schema=schema)


def stage_transform(
    *, batch: RawBatch, mapping: ColumnMapping, schema: Schema, config: TransformConfig
) -> pl.DataFrame:
    return frame_transform(
        frame_map(batch.frame, mapping=mapping, schema=schema), schema=schema, config=config
    )


@dataclass
class StageQuality:
    """What the quality stage returns for one batch."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    """Records with problems: ``LINE_COLUMN``, ``__codes__``, ``__messages__`` (see dataflow.columns)."""
    checked: QualityResult
    """The quality stage's own result (failures, examples, outliers) for the file's tally."""


def stage_quality(*, frame: pl.DataFrame, rules: RuleSet) -> StageQuality:
    """Split a transformed batch into loadable records and quarantined ones.

    Every record failure comes from the quality rules (``dataflow.quality``): the
    declared ones, the ones the schema implies (required, type, max_length) and
    what the customers table cannot store (a NUL byte), in that order; type
    failures quote the file's own text (the transform's ``_raw_<field>``).
    Duplicate keys are left to the staging table, which resolves them across all batches: so
    each quarantined record carries its key (``load.KEY_COLUMN``), which supersedes the
    key's earlier records (:func:`dataflow.load.staging_supersede`).
    """
    result = batch_check(clean=frame, ruleset=rules)
    quarantined = result.quarantined_frame()
    key = rules.schema.key
    if quarantined.height and key in frame.columns:
        keys = frame.select(LINE_COLUMN, pl.col(key).alias(load.KEY_COLUMN)).unique(LINE_COLUMN, keep="last")
        quarantined = quarantined.join(keys, on=LINE_COLUMN, how="left")
    return StageQuality(valid=result.valid, quarantined=quarantined, checked=result)


def quarantine_stage(problems: pl.DataFrame, *, raw: pl.DataFrame) -> int:
    """Records that failed the quality rules, staged for quarantine with the file's own values
    (``raw``: the reader's batch); how many."""
    if not problems.height:
        return 0
    load.quarantine_copy(frame=load.quarantine_frame(problems=problems, raw=raw))
    return problems.height


def set_aside_stage(rows: list[SetAside], *, tally: QualityTally) -> int:
    """Records a reader set aside: staged for quarantine and counted in the file's tally; how many."""
    if not rows:
        return 0
    load.quarantine_copy(frame=load.set_aside_frame(rows))
    for row in rows:
        tally.add_problem(code=row.code, message=row.message)
    return len(rows)


@dataclass
class FileSetup:
    """What every engine knows before its first batch."""

    outcome: RunOutcome
    reader: RecordReader
    mapping: ColumnMapping | None
    config: TransformConfig
    tally: QualityTally
    ingested_at: datetime
    started: float
    """``time.monotonic()`` when the read began."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step: the run report's ``seconds``."""
    repeated: dict[str, pl.Series] = field(default_factory=dict)
    """The values repeated in the file of each field with a ``unique`` rule (the key's aside), when
    the engine counted them first (:func:`repeats_count`)."""


def file_setup(
    ctx: StageContext,
    *,
    schema: Schema,
    options: IngestOptions,
    progress: ProgressReporter | None,
) -> FileSetup:
    """Open the file, map its columns, prepare the transform and the quality tally, create the
    staging tables and start the progress display."""
    outcome = RunOutcome()
    ingested_at = timezone.now()
    started = time.monotonic()
    timings: dict[str, float] = {}
    outcome.report["seconds"] = timings
    ctx.stage = STAGE_READ
    reader = stage_read(ctx=ctx, batch_size=options.batch_size)
    outcome.report["reader"] = reader.info.as_report()
    ctx.stage = STAGE_MAP
    mapping = stage_map(columns=reader.columns, schema=schema) if reader.columns else None
    if mapping is not None:
        outcome.report["mapping"] = mapping.as_report()
    ctx.mapping = mapping
    config = TransformConfig(
        source_file=ctx.filename, ingested_at=ingested_at, extra_date_formats=options.extra_date_formats
    )
    tally = quality_setup(
        schema=schema,
        extra_date_formats=options.extra_date_formats,
        warn_above=options.warn_above,
        reject_above=options.reject_above,
    )
    load.staging_create(schema=schema)
    if progress:
        progress.start(name=ctx.filename, total_bytes=ctx.size)
    return FileSetup(
        outcome=outcome,
        reader=reader,
        mapping=mapping,
        config=config,
        tally=tally,
        ingested_at=ingested_at,
        started=started,
        timings=timings,
    )


def mapping_late(ctx: StageContext, setup: FileSetup, *, columns: list[str], schema: Schema) -> ColumnMapping:
    """The mapping of a JSON file whose first records were all set aside: from the first batch read."""
    setup.mapping = stage_map(columns=columns, schema=schema)
    setup.outcome.report["mapping"] = setup.mapping.as_report()
    ctx.mapping = setup.mapping
    return setup.mapping


def repeats_count(ctx: StageContext, setup: FileSetup, *, schema: Schema, batch_size: int) -> None:
    """A first read of the file for a schema with a ``unique`` rule on a field other than the key:
    each such field's repeated values, into ``setup.repeated`` (:mod:`dataflow.quality.repeats`).

    The same reader, mapping and transform as the batches that follow, so a value counts
    here exactly as the rule will see it.
    """
    fields = unique_fields(setup.tally.ruleset)
    if not fields:
        return
    started = time.monotonic()
    ctx.stage = STAGE_READ
    counter = RepeatCounter(fields)
    mapping = setup.mapping
    for batch in stage_read(ctx=ctx, batch_size=batch_size).batches():
        if not batch.frame.height:
            continue
        if mapping is None:  # JSON whose first records were all set aside
            mapping = stage_map(columns=[c for c in batch.frame.columns if c != LINE_COLUMN], schema=schema)
        counter.add(stage_transform(batch=batch, mapping=mapping, schema=schema, config=setup.config))
    setup.repeated = counter.repeated()
    setup.timings["count_repeated"] = round(time.monotonic() - started, 3)
