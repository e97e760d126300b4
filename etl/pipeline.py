"""One file through the pipeline: fetch → raw copy → read → map → transform → quality → load → lake.

:func:`ingest_file` wires the stages; each stage is a small function below (or
in its own module) so another stage can be plugged in with a small edit:

- the quality stage is :func:`stage_quality` (cleaned batch in; valid rows,
  quarantine rows, report out);
- the lake registers a :class:`PipelineHook` in ``HOOKS``: ``after_fetch``
  (raw zone), ``on_batch`` (valid rows as they are staged) and
  ``after_commit`` (processed/curated, after the PostgreSQL commit).

Every outcome is an ``IngestionRun``: succeeded, skipped (same bytes already
loaded), rejected (the file cannot be loaded as it is) or failed (an error
of ours or of the infrastructure; the trace is on the run).
"""

from __future__ import annotations

import hashlib
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import structlog
from django.db import transaction
from django.utils import timezone

from etl import load
from etl.alerts import AlertCause, alert_run
from etl.engines import engine_process
from etl.engines.spark.load import spark_stages_drop_orphans
from etl.mapping import ColumnMapping, MappingError, columns_map, extra_columns, frame_map
from etl.models import IngestionRun, RunStatus
from etl.progress import ProgressReporter
from etl.quality import Outcome, QualityResult, RuleSet, Verdict
from etl.quality.alerts import quality_alert
from etl.quality.batch import QualityTally, batch_check, quality_setup
from etl.readers import RawBatch, ReadError, RecordReader, open_reader
from etl.retry import error_text
from etl.schema import Schema, load_schema
from etl.selectors import run_loaded
from etl.services import RunCounts, RunOutcome, run_finish, run_record, run_start, runs_fail_stale
from etl.sources import Source, SourceError
from etl.sources.audit import source_after_success
from etl.sources.base import RefusedFileError
from etl.transform import TransformConfig, frame_check_storable, frame_transform

log = structlog.get_logger("etl.ingest")

SKIPPED_MESSAGE = "already loaded by run {run_id} (same sha256); use --force to load it again"
NO_RECORDS_WARNING = "the file holds no records"
STAGE_FAILED = "{stage} failed: {problem}"


class RejectFile(Exception):
    """The file as a whole cannot be loaded (raised by a stage; becomes a ``rejected`` run)."""


class QualityRejected(RejectFile):
    """More records failed the quality rules than ``reject_above`` allows."""

    def __init__(self, verdict: Verdict, *, report: dict[str, Any]) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict
        self.report = report


@dataclass(frozen=True)
class IngestOptions:
    """Settings of one ingest."""

    work_dir: Path
    """Where fetched files land."""
    batch_size: int = 100_000
    """Records per batch: bounds memory whatever the file size."""
    force: bool = False
    """Load even when a file with the same sha256 was already loaded."""
    dry_run: bool = False
    """Read, transform, check and report; write nothing to the customers table."""
    warn_above: float | None = None
    """Percent of invalid records above which the run warns and alerts (None: the schema's)."""
    reject_above: float | None = None
    """Percent of invalid records above which the file is rejected (None: the schema's)."""
    extra_date_formats: tuple[str, ...] = ()
    """Date formats tried after the schema's own (per source)."""
    engine: str = "polars"
    """``polars`` (this process) or ``spark`` (SPARK_MASTER): same stages, same outcome (etl.engines)."""
    max_bytes: int = 0
    """Most bytes a file may hold, once decompressed (``INGEST_MAX_BYTES``); 0: no limit."""


@dataclass
class StageContext:
    """What the stages and hooks know about the file being ingested."""

    source: str
    filename: str
    path: Path
    sha256: str
    size: int
    run: IngestionRun | None = None
    options: IngestOptions | None = None
    stage: str = "fetch"
    """The stage running now (named in failure messages)."""
    hooks: list[PipelineHook] = field(default_factory=list)
    """The ingest's hooks (``in_commit`` runs inside the publishing transaction)."""


@dataclass
class IngestResult:
    """The outcome of one file, as the command prints it."""

    run_id: int | None
    status: str
    file: str
    sha256: str
    counts: RunCounts
    message: str = ""
    """One line for people (empty when loaded)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "file": self.file,
            "sha256": self.sha256,
            "counts": self.counts.as_dict(),
        }


@dataclass
class StageQuality:
    """What the quality stage returns for one batch."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    """Records with problems: ``LINE_COLUMN``, ``__codes__``, ``__messages__`` (see etl.transform)."""
    report: dict[str, Any] = field(default_factory=dict)
    checked: QualityResult | None = None
    """The quality stage's own result (failures, examples, outliers) for the file's tally."""


class PipelineHook(Protocol):
    def recover(self, ctx: StageContext) -> None:
        """At the start of every ingest (skipped ones too), under the file's lock: finish what a
        killed ingest left owed (the lake completes its pending runs)."""

    def after_fetch(self, ctx: StageContext) -> None: ...

    def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None: ...

    def in_commit(self, ctx: StageContext) -> None:
        """Inside the publishing transaction, before the run's status is written (the lake marks
        its step pending: committed with the load, or not at all)."""

    def after_commit(self, ctx: StageContext) -> None: ...


HOOKS: list[PipelineHook] = []
"""Hooks run for every ingest (the lake registers its own here)."""


# --- stages -------------------------------------------------------------------


def stage_fetch(*, source: Source, name: str, work_dir: Path) -> Path:
    return source.fetch(name, work_dir)


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


def stage_quality(
    *, frame: pl.DataFrame, text: pl.DataFrame, schema: Schema, limits: dict[str, int], rules: RuleSet
) -> StageQuality:
    """Split a cleaned batch into loadable records and quarantined ones.

    What the customers table cannot store (types, lengths, NUL), then the
    declared data-quality rules (``etl.quality``); ``text`` is the batch before
    casting, so type failures quote the file's own text. Duplicate keys are
    left to the staging table, which resolves them across all batches.
    """
    checked = frame_check_storable(frame, schema=schema, limits=limits)
    result = batch_check(clean=checked, text=text, ruleset=rules)
    return StageQuality(
        valid=result.valid,
        quarantined=result.quarantined_frame(),
        report={"failures": result.failures},
        checked=result,
    )


def stage_load(
    *, ctx: StageContext, schema: Schema, counts: RunCounts, ingested_at: datetime
) -> load.UpsertCounts:
    """Publish the staged file: upsert (or diff, for a dry run). Inside the run's transaction."""
    assert ctx.options is not None
    if ctx.options.dry_run:
        return load.customers_diff_staged(schema=schema)
    return load.customers_upsert_staged(
        schema=schema, source_file=ctx.filename, ingested_at=ingested_at, distinct_keys=counts.loaded
    )


# --- wiring -------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    return error_text(exc) or type(exc).__name__


def _merge_failures(total: dict[str, int], report: dict[str, Any]) -> None:
    for code, count in report.get("failures", {}).items():
        total[code] = total.get(code, 0) + count


def _process(
    ctx: StageContext,
    *,
    schema: Schema,
    options: IngestOptions,
    progress: ProgressReporter | None,
    hooks: list[PipelineHook],
) -> tuple[RunOutcome, int]:
    """Stream the file into staging, then publish it in one transaction.

    Returns the outcome and the number of quarantined records stored.
    """
    assert ctx.run is not None
    outcome = RunOutcome()
    counts = outcome.counts
    ingested_at = timezone.now()
    started = time.monotonic()
    timings: dict[str, float] = {}
    outcome.report["seconds"] = timings
    ctx.stage = "read"
    reader = stage_read(ctx=ctx, batch_size=options.batch_size)
    outcome.report["reader"] = reader.info.as_report()
    ctx.stage = "map"
    mapping = stage_map(columns=reader.columns, schema=schema) if reader.columns else None
    if mapping is not None:
        outcome.report["mapping"] = mapping.as_report()
    config = TransformConfig(
        source_file=ctx.filename, ingested_at=ingested_at, extra_date_formats=options.extra_date_formats
    )
    limits = load.column_limits(schema=schema)
    tally = quality_setup(
        schema=schema,
        extra_date_formats=options.extra_date_formats,
        warn_above=options.warn_above,
        reject_above=options.reject_above,
    )
    extra: dict[str, None] = dict.fromkeys(mapping.extra if mapping else ())
    failures: dict[str, int] = {}
    staged_rows = 0
    load.staging_create(schema=schema)
    if progress:
        progress.start(name=ctx.filename, total_bytes=ctx.size)
    try:
        ctx.stage = "read"
        for batch in reader.batches():
            if batch.set_aside:
                load.quarantine_copy(frame=load.set_aside_frame(batch.set_aside))
                counts.quarantined += len(batch.set_aside)
                for row in batch.set_aside:
                    failures[row.code] = failures.get(row.code, 0) + 1
                    tally.add_problem(code=row.code, message=row.message)
            if batch.frame.height:
                if mapping is None:  # JSON whose first records were all set aside
                    mapping = stage_map(
                        columns=[c for c in batch.frame.columns if c != "__line__"], schema=schema
                    )
                    outcome.report["mapping"] = mapping.as_report()
                extra.update(dict.fromkeys(extra_columns(batch.frame, mapping=mapping)))
                ctx.stage = "transform"
                clean = stage_transform(batch=batch, mapping=mapping, schema=schema, config=config)
                ctx.stage = "quality"
                text = frame_map(batch.frame, mapping=mapping, schema=schema)
                quality = stage_quality(
                    frame=clean, text=text, schema=schema, limits=limits, rules=tally.ruleset
                )
                _merge_failures(failures, quality.report)
                if quality.checked is not None:
                    tally.add(quality.checked)
                if quality.quarantined.height:
                    load.quarantine_copy(
                        frame=load.quarantine_frame(problems=quality.quarantined, raw=batch.frame)
                    )
                    counts.quarantined += quality.quarantined.height
                ctx.stage = "load"
                load.staging_copy(frame=quality.valid, schema=schema)
                staged_rows += quality.valid.height
                ctx.stage = "hooks"
                for hook in hooks:
                    hook.on_batch(ctx, raw=batch.frame, valid=quality.valid)
                ctx.stage = "read"
                # Let this batch go before the next is read: at most one batch alive at a time.
                del clean, quality
            if progress:
                progress.advance(bytes_read=reader.bytes_read, rows=staged_rows)
            del batch
        timings["read_transform_stage"] = round(time.monotonic() - started, 3)
        return stage_publish(
            ctx,
            schema=schema,
            outcome=outcome,
            reader=reader,
            extra=list(extra),
            failures=failures,
            tally=tally,
            ingested_at=ingested_at,
        )
    finally:
        if progress:
            progress.stop()


def stage_publish(
    ctx: StageContext,
    *,
    schema: Schema,
    outcome: RunOutcome,
    reader: RecordReader,
    extra: list[str],
    failures: dict[str, int],
    tally: QualityTally,
    ingested_at: datetime,
) -> tuple[RunOutcome, int]:
    """Everything after the last batch is staged, shared by both engines.

    Line fixes, the file's counts, the quality verdict (thresholds apply to the
    whole file), then the upsert, the quarantine and the run's status in one
    transaction. Returns the outcome and the number of quarantined records stored.
    """
    assert ctx.run is not None
    counts = outcome.counts
    timings = outcome.report["seconds"]
    fix = reader.line_fix()
    ctx.stage = "load"
    if fix is not None:
        load.staging_fix_lines(fix=fix)
        tally.lines_correct(fix.corrected)
    outcome.warnings.extend(reader.info.warnings)
    mark = time.monotonic()
    staged = load.staging_counts(schema=schema)
    timings["count_duplicates"] = round(time.monotonic() - mark, 3)
    counts.read = staged.staged + counts.quarantined
    counts.duplicates = staged.duplicates
    counts.loaded = staged.distinct_keys
    outcome.report["extra_columns"] = extra
    outcome.report["duplicates"] = {"exact": staged.exact_duplicates, "same_key": staged.key_duplicates}
    outcome.report["failures"] = failures
    if counts.read == 0:
        outcome.warnings.append(NO_RECORDS_WARNING)
    ctx.stage = "quality"  # thresholds apply to the whole file: decided once all batches are in
    verdict = tally.verdict(read=counts.read, invalid=counts.quarantined)
    outcome.report["quality"] = tally.report(verdict)
    outcome.warnings.extend(tally.warnings(verdict))
    if verdict.outcome == Outcome.REJECT:
        raise QualityRejected(verdict, report=outcome.report)
    ctx.stage = "load"
    # One transaction: a crash here must leave neither customer rows nor a succeeded run.
    with transaction.atomic():
        mark = time.monotonic()
        upsert = stage_load(ctx=ctx, schema=schema, counts=counts, ingested_at=ingested_at)
        timings["upsert"] = round(time.monotonic() - mark, 3)
        counts.inserted, counts.updated, counts.unchanged = upsert.inserted, upsert.updated, upsert.unchanged
        stored = load.quarantine_publish(run_id=ctx.run.id)
        for hook in ctx.hooks:
            hook.in_commit(ctx)
        run_finish(run=ctx.run, status=RunStatus.SUCCEEDED, outcome=outcome)
    quality_alert(run=ctx.run, verdict=verdict)
    return outcome, stored


def _finish_not_loaded(ctx: StageContext, *, status: str, outcome: RunOutcome, read: int = 0) -> None:
    """Rejected/failed: the quarantine staged so far is kept for people to see why; nothing loads.

    ``read`` is the file's record count when the whole file was read (a quality
    rejection), so the run still says how many records the rejection covered.
    """
    assert ctx.run is not None
    with transaction.atomic():
        stored = load.quarantine_publish(run_id=ctx.run.id) if load.staging_exists() else 0
        outcome.counts = RunCounts(read=read, quarantined=stored)
        run_finish(run=ctx.run, status=status, outcome=outcome)


def _result(ctx: StageContext, *, status: str, counts: RunCounts, message: str = "") -> IngestResult:
    run_id = ctx.run.id if ctx.run else None
    return IngestResult(
        run_id=run_id, status=status, file=ctx.filename, sha256=ctx.sha256, counts=counts, message=message
    )


def ingest_file(
    *,
    source: Source,
    name: str,
    options: IngestOptions,
    progress: ProgressReporter | None = None,
    hooks: list[PipelineHook] | None = None,
    schema: Schema | None = None,
) -> IngestResult:
    """Ingest one file of ``source``; every outcome is recorded as an ``IngestionRun``.

    Raises only when the database itself is unusable (nothing can be recorded then).
    """
    schema = schema or load_schema()
    hooks = HOOKS if hooks is None else hooks
    flags = {"dry_run": options.dry_run, "forced": options.force}
    try:
        path = stage_fetch(source=source, name=name, work_dir=options.work_dir)
    except SourceError as exc:  # after the retries, or at once: refused login, host key or file
        refused = isinstance(exc, RefusedFileError)  # a symbolic link...: the file itself is bad
        status = RunStatus.REJECTED if refused else RunStatus.FAILED
        stage_problem = STAGE_FAILED.format(stage="fetch", problem=_one_line(exc))
        message = f"{name}: {f'rejected: {_one_line(exc)}' if refused else stage_problem}"
        outcome = RunOutcome(error_message=message, error_trace=traceback.format_exc())
        run = run_record(
            source=source.kind, filename=name, sha256="", size=None, status=status, outcome=outcome, **flags
        )
        cause = AlertCause.REJECTED if refused else AlertCause.FETCH_FAILED
        alert_run(run=run, cause=cause, error=exc, stage="fetch")
        return IngestResult(
            run_id=run.id, status=status, file=name, sha256="", counts=RunCounts(), message=message
        )
    sha256, size = file_checksum(path)
    ctx = StageContext(
        source=source.kind, filename=name, path=path, sha256=sha256, size=size, options=options, hooks=hooks
    )
    waiting = partial_log("ingest.waiting_for_lock", file=name, sha256=sha256)
    with load.advisory_lock(sha256=sha256, on_wait=waiting):
        stale = runs_fail_stale()
        if stale:
            log.warning("ingest.stale_runs_failed", run_ids=stale)
        spark_stages_drop_orphans()
        for hook in hooks:
            hook.recover(ctx)
        previous = run_loaded(sha256=sha256) if not (options.force or options.dry_run) else None
        if previous is not None:
            message = SKIPPED_MESSAGE.format(run_id=previous)
            run = run_record(
                source=source.kind,
                filename=name,
                sha256=sha256,
                size=size,
                status=RunStatus.SKIPPED,
                outcome=RunOutcome(warnings=[message]),
                **flags,
            )
            ctx.run = run
            source_after_success(source=source, run=run)  # these bytes are loaded: done with the file
            return _result(ctx, status=RunStatus.SKIPPED, counts=RunCounts(), message=message)
        ctx.run = run_start(source=source.kind, filename=name, sha256=sha256, size=size, **flags)
        try:
            for hook in hooks:
                hook.after_fetch(ctx)
            process = engine_process(options.engine)
            outcome, _stored = process(ctx, schema=schema, options=options, progress=progress, hooks=hooks)
        except (ReadError, MappingError, RejectFile) as exc:
            message = f"{name}: rejected: {_one_line(exc)}"
            report = {**getattr(exc, "report", {}), "stage": ctx.stage}  # quality keeps its report
            outcome = RunOutcome(error_message=message, report=report)
            read = exc.verdict.total if isinstance(exc, QualityRejected) else 0
            _finish_not_loaded(ctx, status=RunStatus.REJECTED, outcome=outcome, read=read)
            alert_run(run=ctx.run, cause=AlertCause.REJECTED, error=message, stage=ctx.stage)
            return _result(ctx, status=RunStatus.REJECTED, counts=outcome.counts, message=message)
        except Exception as exc:
            problem = STAGE_FAILED.format(stage=ctx.stage, problem=_one_line(exc))
            message = f"{name}: {problem} (run {ctx.run.id})"
            log.debug("ingest.failed", file=name, run_id=ctx.run.id, exc_info=True)
            outcome = RunOutcome(
                error_message=message, error_trace=traceback.format_exc(), report={"stage": ctx.stage}
            )
            _finish_not_loaded(ctx, status=RunStatus.FAILED, outcome=outcome)
            alert_run(run=ctx.run, cause=AlertCause.RUN_FAILED, error=exc, stage=ctx.stage)
            return _result(ctx, status=RunStatus.FAILED, counts=outcome.counts, message=message)
        finally:
            load.staging_drop()
        # Still under the file's lock: while it is held, the run's pending lake step is its own.
        _after_commit(ctx, hooks=hooks)
    if not options.dry_run:
        source_after_success(source=source, run=ctx.run)
    log.info(
        "ingest.done",
        file=name,
        run_id=ctx.run.id,
        status=ctx.run.status,
        dry_run=options.dry_run,
        **outcome.counts.as_dict(),
    )
    return _result(ctx, status=RunStatus.SUCCEEDED, counts=outcome.counts)


PAUSE_AFTER_COMMIT_ENV = "ETL_TEST_PAUSE_AFTER_COMMIT"
"""Tests only (etl/tests/test_lake_pending.py): a file path; once the load is committed the
process writes it and waits, so the test can kill it before the lake step. Unset in production."""


def _after_commit(ctx: StageContext, *, hooks: list[PipelineHook]) -> None:
    assert ctx.run is not None
    marker = os.environ.get(PAUSE_AFTER_COMMIT_ENV)
    if marker:
        Path(marker).write_text(str(ctx.run.id))
        time.sleep(120)
    for hook in hooks:
        try:
            hook.after_commit(ctx)
        except Exception as exc:  # the load is committed; a lake problem is a warning on the run
            log.warning("ingest.hook_failed", file=ctx.filename, run_id=ctx.run.id, error=_one_line(exc))
            ctx.run.warnings = [*ctx.run.warnings, f"after commit: {_one_line(exc)}"]
            ctx.run.save(update_fields=["warnings"])


def partial_log(event: str, **fields: Any) -> Callable[[], None]:
    def emit() -> None:
        log.info(event, **fields)

    return emit
