"""The Spark engine's processing of one file: same stages, same tables, same run as Polars.

1. read: a CSV file is parsed on the executors, range by range, by the
   shared CSV core (:mod:`.split`); any other file (gzip, JSON, or a CSV that
   cannot be cut exactly) is spooled as Parquet by the shared readers on the
   driver (:mod:`.reader`). Either way the records set aside are staged for
   quarantine, and the parts hold the same records with the same lines;
2. map, transform: the shared Narwhals code (:func:`dataflow.mapping.frame_map`,
   :func:`dataflow.transform.frame_transform`) on one Spark DataFrame of the whole file;
3. quality (:mod:`.quality`): the shared rules decide in Spark; only the
   failing records come back to the driver, where the shared quality stage
   words their reasons and :func:`dataflow.load.quarantine_frame` stages them;
   the file's verdict (thresholds) is the Polars engine's;
4. load: every Spark partition COPYs its valid rows into PostgreSQL
   (:mod:`.load`), the driver moves them into the usual staging table;
5. publish: the orchestrator's, as for Polars (:func:`ingestion.publish.publish_staged`):
   the shared counts, upsert, quarantine and run status, in one transaction;
6. lake: Spark writes the processed Parquet into the lake hook's parts folder
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

from dataflow.context import (
    STAGE_HOOKS,
    STAGE_LOAD,
    STAGE_QUALITY,
    STAGE_READ,
    STAGE_SPARK_SESSION,
    STAGE_TRANSFORM,
    IngestHook,
    IngestOptions,
    ProgressReporter,
    StageContext,
)
from dataflow.engines.base import RunningAmong, StagedFile
from dataflow.engines.spark.lake import spark_lake_write, spark_processed_frame
from dataflow.engines.spark.load import (
    executor_conninfo,
    spark_copy,
    spark_stage_create,
    spark_stage_drop,
    spark_stage_move,
    spark_stages_drop_orphans,
)
from dataflow.engines.spark.quality import spark_quality
from dataflow.engines.spark.reader import Spooled, spool_file
from dataflow.engines.spark.session import spark_check, spark_session
from dataflow.engines.spark.split import spark_split_read
from dataflow.engines.spark.split_tasks import ORD_COLUMN
from dataflow.mapping import frame_map
from dataflow.readers import LINE_COLUMN
from dataflow.schema import Schema
from dataflow.stages import FileSetup, file_setup
from dataflow.transform import frame_transform

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = structlog.get_logger("etl.ingest.spark")

SPOOL_DIR = ".spark-spool"
"""Under the work dir: the run's Parquet parts (on a cluster: a folder every executor can read)."""


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    """A (small) Spark frame on the driver, via Arrow."""
    return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]


def _hooks_run(
    ctx: StageContext, *, hooks: list[IngestHook], raw: DataFrame, valid: DataFrame, spooled: Spooled
) -> None:
    """A hook with a parts folder gets Spark-written parts; a hook wanting batches the run as
    one Polars batch; any other hook nothing."""
    for hook in hooks:
        folder = hook.parts_folder(ctx)
        if folder is not None:
            extras = {spooled.names[c]: c for c in spooled.extra if c in spooled.names}
            spark_lake_write(frame=spark_processed_frame(raw=raw, valid=valid, extras=extras), folder=folder)
        elif hook.wants_batches(ctx):
            originals = spooled.originals()
            hook.on_batch(ctx, raw=_to_polars(raw).rename(originals, strict=False), valid=_to_polars(valid))


def _spark_stages(
    spark: SparkSession,
    ctx: StageContext,
    *,
    spooled: Spooled,
    schema: Schema,
    setup: FileSetup,
    hooks: list[IngestHook],
) -> tuple[int, int]:
    """Transform, check, quarantine, COPY and lake-write the spooled file; (staged, quarantined)."""
    assert ctx.run is not None
    timings = setup.timings
    raw = spark.read.option("mergeSchema", "true").parquet(*[str(p) for p in spooled.parts])
    if ORD_COLUMN in raw.columns:  # the split read's batch bookkeeping, done with
        raw = raw.drop(ORD_COLUMN)
    ctx.stage = STAGE_TRANSFORM
    mapped = frame_map(raw, mapping=spooled.spool_mapping(), schema=schema)
    clean = frame_transform(mapped, schema=schema, config=setup.config)
    ctx.stage = STAGE_QUALITY
    mark = time.monotonic()
    quality = spark_quality(clean=clean, raw=raw, spooled=spooled, tally=setup.tally)
    timings["spark_quality"] = round(time.monotonic() - mark, 3)
    valid = quality.valid.persist()
    try:
        ctx.stage = STAGE_LOAD
        mark = time.monotonic()
        table = spark_stage_create(run_id=ctx.run.pk, schema=schema)
        try:
            rows = valid.select(valid[LINE_COLUMN].alias("_line"), *schema.field_names)
            staged = spark_copy(frame=rows, table=table, conninfo=executor_conninfo())
            spark_stage_move(table=table, schema=schema)
        finally:
            spark_stage_drop(table=table)
        timings["spark_copy"] = round(time.monotonic() - mark, 3)
        ctx.stage = STAGE_HOOKS
        mark = time.monotonic()
        _hooks_run(ctx, hooks=hooks, raw=raw, valid=valid, spooled=spooled)
        timings["spark_lake"] = round(time.monotonic() - mark, 3)
    finally:
        valid.unpersist()
    return staged, quality.quarantined


def _spark_read(
    spark: SparkSession,
    ctx: StageContext,
    *,
    setup: FileSetup,
    schema: Schema,
    options: IngestOptions,
    folder: Path,
    progress: ProgressReporter | None,
) -> Spooled:
    """The file as Parquet parts: cut into ranges parsed on the executors, else read on the driver."""
    ctx.stage = STAGE_READ
    split = spark_split_read(
        spark,
        reader=setup.reader,
        path=ctx.path,
        folder=folder,
        split_bytes=settings.SPARK_SPLIT_BYTES,
        batch_size=options.batch_size,
        mapping=setup.mapping,
        tally=setup.tally,
    )
    setup.outcome.report["spark_read"] = split.as_report()
    if split.spooled is not None:
        if progress:
            progress.advance(bytes_read=ctx.size, rows=split.spooled.records)
        return split.spooled
    log.info("ingest.spark.driver_read", file=ctx.filename, reason=split.reason)
    return spool_file(
        reader=setup.reader,
        folder=folder,
        schema=schema,
        mapping=setup.mapping,
        progress=progress,
        tally=setup.tally,
    )


class SparkEngine:
    """Processes the fetched file on Spark; the counts, report and final transaction are the
    Polars engine's."""

    name = "spark"

    def check(self) -> None:
        spark_check()

    def leftovers_drop(self, *, running: RunningAmong) -> list[str]:
        return spark_stages_drop_orphans(running=running)

    def stage_file(
        self,
        ctx: StageContext,
        *,
        schema: Schema,
        options: IngestOptions,
        progress: ProgressReporter | None,
        hooks: list[IngestHook],
    ) -> StagedFile:
        assert ctx.run is not None
        ctx.stage = STAGE_SPARK_SESSION
        mark = time.monotonic()
        spark = spark_session()
        session_seconds = round(time.monotonic() - mark, 3)
        setup = file_setup(ctx, schema=schema, options=options, progress=progress)
        setup.outcome.report["engine"] = "spark"
        setup.timings["spark_session"] = session_seconds
        folder = Path(options.work_dir) / SPOOL_DIR / f"run-{ctx.run.pk}"
        try:
            spooled = _spark_read(
                spark, ctx, setup=setup, schema=schema, options=options, folder=folder, progress=progress
            )
            setup.timings["read_spool"] = round(time.monotonic() - setup.started, 3)
            if spooled.mapping is not None:
                setup.mapping = ctx.mapping = spooled.mapping
                setup.outcome.report["mapping"] = spooled.mapping.as_report()
            setup.outcome.counts.quarantined += spooled.set_aside
            if spooled.parts:
                staged, quarantined = _spark_stages(
                    spark, ctx, spooled=spooled, schema=schema, setup=setup, hooks=hooks
                )
                setup.outcome.counts.quarantined += quarantined
                log.debug("ingest.spark.staged", file=ctx.filename, staged=staged, quarantined=quarantined)
            setup.timings["read_transform_stage"] = round(time.monotonic() - setup.started, 3)
            log.info("ingest.spark.done", file=ctx.filename, run_id=ctx.run.pk, seconds=setup.timings)
            return StagedFile(
                outcome=setup.outcome,
                reader=setup.reader,
                tally=setup.tally,
                extra=list(spooled.extra),
                ingested_at=setup.ingested_at,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
