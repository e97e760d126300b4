"""The Spark engine's processing of one file: same stages, same tables, same run as Polars.

1. read: a CSV file is parsed on the executors, range by range, by the
   shared CSV core (:mod:`.split`); any other file (gzip, JSON, or a CSV that
   cannot be cut exactly) is spooled as Parquet by the shared readers on the
   driver (:mod:`.reader`). Either way the records set aside are staged for
   quarantine, and the parts hold the same records with the same lines;
2. map, transform, storable checks: the shared Narwhals code
   (:func:`etl.mapping.frame_map`, :func:`etl.transform.frame_transform`,
   :func:`etl.transform.frame_check_storable`) on one Spark DataFrame of the
   whole file;
3. quality (:mod:`.quality`): the shared rules decide in Spark; only the
   failing records come back to the driver, where the shared quality stage
   words their reasons and :func:`etl.load.quarantine_frame` stages them;
   the file's verdict (thresholds) is the Polars engine's;
4. load: every Spark partition COPYs its valid rows into PostgreSQL
   (:mod:`.load`), the driver moves them into the usual staging table;
5. publish: the shared counts, upsert, quarantine and run status, in one
   transaction: :func:`etl.pipeline.stage_publish`, the very code the Polars engine runs;
6. lake: Spark writes the processed Parquet into the lake hook's spool
   (:mod:`.lake`); the hook publishes it after the commit, as for Polars.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import structlog
from django.conf import settings
from django.utils import timezone

from etl import load
from etl.engines.spark.lake import lake_spool_of, spark_lake_write, spark_processed_frame
from etl.engines.spark.load import (
    executor_conninfo,
    spark_copy,
    spark_stage_create,
    spark_stage_drop,
    spark_stage_move,
)
from etl.engines.spark.quality import spark_quality
from etl.engines.spark.reader import Spooled, spool_file
from etl.engines.spark.session import spark_session
from etl.engines.spark.split import spark_split_read
from etl.engines.spark.split_tasks import ORD_COLUMN
from etl.mapping import frame_map
from etl.quality.batch import QualityTally, quality_setup
from etl.readers import LINE_COLUMN
from etl.services import RunOutcome
from etl.transform import TransformConfig, frame_check_storable, frame_transform

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from etl.pipeline import IngestOptions, PipelineHook, StageContext
    from etl.progress import ProgressReporter
    from etl.schema import Schema

log = structlog.get_logger("etl.ingest.spark")

SPOOL_DIR = ".spark-spool"
"""Under the work dir: the run's Parquet parts (on a cluster: a folder every executor can read)."""


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    """A (small) Spark frame on the driver, via Arrow."""
    return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]


def _hooks_run(
    ctx: StageContext, *, hooks: list[PipelineHook], raw: DataFrame, valid: DataFrame, spooled: Spooled
) -> None:
    """The lake's hook gets Spark-written parts; any other hook the batch as Polars frames."""
    from etl.lake.hook import LakeHook

    for hook in hooks:
        if isinstance(hook, LakeHook):
            folder = lake_spool_of(hook, ctx)
            if folder is not None:
                extras = {spooled.names[c]: c for c in spooled.extra if c in spooled.names}
                spark_lake_write(
                    frame=spark_processed_frame(raw=raw, valid=valid, extras=extras), folder=folder
                )
            continue
        originals = spooled.originals()
        hook.on_batch(ctx, raw=_to_polars(raw).rename(originals, strict=False), valid=_to_polars(valid))


def _spark_stages(
    spark: SparkSession,
    ctx: StageContext,
    *,
    spooled: Spooled,
    schema: Schema,
    config: TransformConfig,
    hooks: list[PipelineHook],
    timings: dict[str, float],
    failures: dict[str, int],
    tally: QualityTally,
) -> tuple[int, int]:
    """Transform, check, quarantine, COPY and lake-write the spooled file; (staged, quarantined)."""
    assert ctx.run is not None
    raw = spark.read.option("mergeSchema", "true").parquet(*[str(p) for p in spooled.parts])
    if ORD_COLUMN in raw.columns:  # the split read's batch bookkeeping, done with
        raw = raw.drop(ORD_COLUMN)
    ctx.stage = "transform"
    mapped = frame_map(raw, mapping=spooled.spool_mapping(), schema=schema)
    clean = frame_transform(mapped, schema=schema, config=config)
    ctx.stage = "quality"
    limits = load.column_limits(schema=schema)
    checked = frame_check_storable(clean, schema=schema, limits=limits)
    mark = time.monotonic()
    quality = spark_quality(
        clean=clean,
        checked=checked,
        mapped=mapped,
        raw=raw,
        spooled=spooled,
        schema=schema,
        limits=limits,
        tally=tally,
    )
    for code, count in quality.failures.items():
        failures[code] = failures.get(code, 0) + count
    timings["spark_quality"] = round(time.monotonic() - mark, 3)
    valid = quality.valid.persist()
    try:
        ctx.stage = "load"
        mark = time.monotonic()
        table = spark_stage_create(run_id=ctx.run.pk, schema=schema)
        try:
            rows = valid.select(valid[LINE_COLUMN].alias("_line"), *schema.field_names)
            staged = spark_copy(frame=rows, table=table, conninfo=executor_conninfo())
            spark_stage_move(table=table, schema=schema)
        finally:
            spark_stage_drop(table=table)
        timings["spark_copy"] = round(time.monotonic() - mark, 3)
        ctx.stage = "hooks"
        mark = time.monotonic()
        _hooks_run(ctx, hooks=hooks, raw=raw, valid=valid, spooled=spooled)
        timings["spark_lake"] = round(time.monotonic() - mark, 3)
    finally:
        valid.unpersist()
    return staged, quality.quarantined


def spark_process(
    ctx: StageContext,
    *,
    schema: Schema,
    options: IngestOptions,
    progress: ProgressReporter | None,
    hooks: list[PipelineHook],
) -> tuple[RunOutcome, int]:
    """Process the fetched file on Spark; the outcome and the quarantined records stored.

    The counts, report and final transaction are those of the Polars engine.
    """
    from etl.pipeline import stage_map, stage_publish, stage_read

    assert ctx.run is not None
    outcome = RunOutcome()
    counts = outcome.counts
    ingested_at = timezone.now()
    timings: dict[str, float] = {}
    outcome.report["seconds"] = timings
    outcome.report["engine"] = "spark"
    ctx.stage = "spark session"
    mark = time.monotonic()
    spark = spark_session()
    timings["spark_session"] = round(time.monotonic() - mark, 3)
    started = time.monotonic()
    ctx.stage = "read"
    reader = stage_read(ctx=ctx, batch_size=options.batch_size)
    outcome.report["reader"] = reader.info.as_report()
    ctx.stage = "map"
    mapping = stage_map(columns=reader.columns, schema=schema) if reader.columns else None
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
    folder = Path(options.work_dir) / SPOOL_DIR / f"run-{ctx.run.pk}"
    if progress:
        progress.start(name=ctx.filename, total_bytes=ctx.size)
    try:
        ctx.stage = "read"
        split = spark_split_read(
            spark,
            reader=reader,
            path=ctx.path,
            folder=folder,
            split_bytes=settings.SPARK_SPLIT_BYTES,
            batch_size=options.batch_size,
            mapping=mapping,
            tally=tally,
        )
        outcome.report["spark_read"] = split.as_report()
        if split.spooled is not None:
            spooled = split.spooled
            if progress:
                progress.advance(bytes_read=ctx.size, rows=spooled.records)
        else:
            log.info("ingest.spark.driver_read", file=ctx.filename, reason=split.reason)
            spooled = spool_file(
                reader=reader, folder=folder, schema=schema, mapping=mapping, progress=progress, tally=tally
            )
        timings["read_spool"] = round(time.monotonic() - started, 3)
        if spooled.mapping is not None:
            outcome.report["mapping"] = spooled.mapping.as_report()
        counts.quarantined += spooled.set_aside
        failures = dict(spooled.failures)
        if spooled.parts:
            staged, quarantined = _spark_stages(
                spark,
                ctx,
                spooled=spooled,
                schema=schema,
                config=config,
                hooks=hooks,
                timings=timings,
                failures=failures,
                tally=tally,
            )
            counts.quarantined += quarantined
            log.debug("ingest.spark.staged", file=ctx.filename, staged=staged, quarantined=quarantined)
        timings["read_transform_stage"] = round(time.monotonic() - started, 3)
        result = stage_publish(
            ctx,
            schema=schema,
            outcome=outcome,
            reader=reader,
            extra=list(spooled.extra),
            failures=failures,
            tally=tally,
            ingested_at=ingested_at,
        )
        log.info("ingest.spark.done", file=ctx.filename, run_id=ctx.run.id, seconds=timings)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if progress:
            progress.stop()
