"""One file through the pipeline: fetch → raw copy → read → map → transform → quality → load → lake.

The orchestrator: it only sequences and maps errors. The stages are in
:mod:`dataflow.stages` (shared by every engine), an engine (:mod:`dataflow.engines`)
stages the file batch by batch, and :func:`ingestion.publish.publish_staged`
publishes it in one transaction. The hooks passed in (the lake's, see
:func:`ingestion.hooks.ingest_hooks`) run after the fetch, on each batch and after the commit.

Every outcome is an ``IngestionRun``: succeeded, skipped (same bytes already
loaded), rejected (the file cannot be loaded as it is) or failed (an error
of ours or of the infrastructure; the trace is on the run).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from django.db import transaction

from alerts import AlertCause, alert_run
from common.errors import error_brief
from dataflow import engines, load
from dataflow.context import (
    STAGE_FETCH,
    IngestHook,
    IngestOptions,
    ProgressReporter,
    RejectFile,
    RunCounts,
    RunOutcome,
    StageContext,
)
from dataflow.mapping import MappingError
from dataflow.readers import ReadError
from dataflow.schema import Schema, load_schema
from dataflow.sources import Source, SourceError
from dataflow.sources.base import RefusedFileError
from dataflow.stages import file_checksum
from ingestion.fetch_folders import fetch_folder
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from ingestion.publish import QualityRejected, publish_staged
from ingestion.run_alerts import runs_settle_stale
from ingestion.selectors import run_loaded, runs_running_among
from ingestion.services import run_finish, run_record, run_start
from ingestion.source_audit import source_after_success

log = structlog.get_logger("etl.ingest")

SKIPPED_MESSAGE = "already loaded by run {run_id} (same sha256); use --force to load it again"
SKIPPED_UPLOAD_MESSAGE = "already loaded by run {run_id} (same sha256); nothing to do"
"""An upload (API, admin form) has no ``--force``: the command's hint would not apply."""
STAGE_FAILED = "{stage} failed: {problem}"


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
            "message": self.message,  # why, when not loaded: a script need not look the run up
        }


def _finish_not_loaded(run: IngestionRun, *, status: str, outcome: RunOutcome, read: int = 0) -> None:
    """Rejected/failed: the quarantine staged so far is kept for people to see why; nothing loads.

    ``read`` is the file's record count when the whole file was read (a quality
    rejection), so the run still says how many records the rejection covered.
    """
    with transaction.atomic():
        table = QuarantinedRecord._meta.db_table
        stored = load.quarantine_publish(run_id=run.pk, table=table) if load.staging_exists() else 0
        outcome.counts = RunCounts(read=read, quarantined=stored)
        run_finish(run=run, status=status, outcome=outcome)


def _result(ctx: StageContext, *, status: str, counts: RunCounts, message: str = "") -> IngestResult:
    run_id = ctx.run.pk if ctx.run else None
    return IngestResult(
        run_id=run_id, status=status, file=ctx.filename, sha256=ctx.sha256, counts=counts, message=message
    )


def _fetch_failed(
    *, source: Source, name: str, exc: SourceError, flags: dict[str, bool], queued: IngestionRun | None
) -> IngestResult:
    """A file that could not be fetched (after the retries, or at once: refused login, host key
    or file). Called inside the ``except`` block: the run keeps the trace."""
    refused = isinstance(exc, RefusedFileError)  # a symbolic link...: the file itself is bad
    status = RunStatus.REJECTED if refused else RunStatus.FAILED
    stage_problem = STAGE_FAILED.format(stage=STAGE_FETCH, problem=error_brief(exc))
    message = f"{name}: {f'rejected: {error_brief(exc)}' if refused else stage_problem}"
    outcome = RunOutcome(error_message=message, error_trace=traceback.format_exc())
    run = run_record(
        source=source.kind,
        filename=name,
        sha256="",
        size=None,
        status=status,
        outcome=outcome,
        queued=queued,
        **flags,
    )
    cause = AlertCause.REJECTED if refused else AlertCause.FETCH_FAILED
    alert_run(run=run, cause=cause, error=exc, stage=STAGE_FETCH)
    return IngestResult(
        run_id=run.id, status=status, file=name, sha256="", counts=RunCounts(), message=message
    )


def _skipped(
    ctx: StageContext, *, source: Source, previous: int, flags: dict[str, bool], queued: IngestionRun | None
) -> IngestResult:
    """These bytes are loaded already: a skipped run, and the source is done with the file."""
    message = (SKIPPED_MESSAGE if queued is None else SKIPPED_UPLOAD_MESSAGE).format(run_id=previous)
    run = run_record(
        source=source.kind,
        filename=ctx.filename,
        sha256=ctx.sha256,
        size=ctx.size,
        status=RunStatus.SKIPPED,
        outcome=RunOutcome(warnings=[message]),
        queued=queued,
        **flags,
    )
    ctx.run = run
    source_after_success(source=source, run=run)
    return _result(ctx, status=RunStatus.SKIPPED, counts=RunCounts(), message=message)


def _staged_and_published(
    ctx: StageContext,
    *,
    run: IngestionRun,
    schema: Schema,
    options: IngestOptions,
    progress: ProgressReporter | None,
    hooks: list[IngestHook],
) -> RunOutcome:
    """The hooks' after-fetch, the engine's staging, then the one publishing transaction."""
    try:
        for hook in hooks:
            hook.after_fetch(ctx)
        engine = engines.engine_for(options.engine)
        staged = engine.stage_file(ctx, schema=schema, options=options, progress=progress, hooks=hooks)
        outcome, _stored = publish_staged(ctx, staged, run=run, schema=schema, hooks=hooks)
        return outcome
    finally:
        if progress:
            progress.stop()


def _run_engine(
    ctx: StageContext,
    *,
    run: IngestionRun,
    schema: Schema,
    options: IngestOptions,
    progress: ProgressReporter | None,
    hooks: list[IngestHook],
) -> IngestResult | RunOutcome:
    """The file staged and published, or the run rejected/failed (the result to return then)."""
    name = ctx.filename
    try:
        return _staged_and_published(
            ctx, run=run, schema=schema, options=options, progress=progress, hooks=hooks
        )
    except (ReadError, MappingError, RejectFile) as exc:
        message = f"{name}: rejected: {error_brief(exc)}"
        report = {**getattr(exc, "report", {}), "stage": ctx.stage}  # quality keeps its report
        outcome = RunOutcome(error_message=message, report=report)
        read = exc.verdict.total if isinstance(exc, QualityRejected) else 0
        _finish_not_loaded(run, status=RunStatus.REJECTED, outcome=outcome, read=read)
        alert_run(run=run, cause=AlertCause.REJECTED, error=message, stage=ctx.stage)
        return _result(ctx, status=RunStatus.REJECTED, counts=outcome.counts, message=message)
    except Exception as exc:
        problem = STAGE_FAILED.format(stage=ctx.stage, problem=error_brief(exc))
        message = f"{name}: {problem} (run {run.pk})"
        log.debug("ingest.failed", file=name, run_id=run.pk, exc_info=True)
        outcome = RunOutcome(
            error_message=message, error_trace=traceback.format_exc(), report={"stage": ctx.stage}
        )
        _finish_not_loaded(run, status=RunStatus.FAILED, outcome=outcome)
        alert_run(run=run, cause=AlertCause.RUN_FAILED, error=exc, stage=ctx.stage)
        return _result(ctx, status=RunStatus.FAILED, counts=outcome.counts, message=message)
    finally:
        load.staging_drop()


PAUSE_AFTER_COMMIT_ENV = "ETL_TEST_PAUSE_AFTER_COMMIT"
"""Tests only (lake/tests/test_pending.py): a file path; once the load is committed the
process writes it and waits, so the test can kill it before the lake step. Unset in production."""


def _after_commit_hooks(ctx: StageContext, *, run: IngestionRun, hooks: list[IngestHook]) -> None:
    marker = os.environ.get(PAUSE_AFTER_COMMIT_ENV)
    if marker:
        Path(marker).write_text(str(run.pk))
        time.sleep(120)
    for hook in hooks:
        try:
            hook.after_commit(ctx)
        except Exception as exc:  # the load is committed; a lake problem is a warning on the run
            log.warning("ingest.hook_failed", file=ctx.filename, run_id=run.pk, error=error_brief(exc))
            run.warnings = [*run.warnings, f"after commit: {error_brief(exc)}"]
            run.save(update_fields=["warnings"])


def ingest_file(
    *,
    source: Source,
    name: str,
    options: IngestOptions,
    hooks: list[IngestHook],
    progress: ProgressReporter | None = None,
    schema: Schema | None = None,
    queued: IngestionRun | None = None,
) -> IngestResult:
    """Ingest one file of ``source``; every outcome is recorded as an ``IngestionRun``.

    ``queued``: the run an upload was accepted as (issue #15); this ingest takes it over
    (see :func:`ingestion.services.run_start`).

    ``hooks`` run beside the stages (:class:`dataflow.context.IngestHook`; the ingest
    command passes :func:`ingestion.hooks.ingest_hooks`). Raises only when the
    database itself is unusable (nothing can be recorded then).
    """
    with fetch_folder(options.work_dir) as folder:
        return _ingest_fetched(
            source=source,
            name=name,
            options=options,
            hooks=hooks,
            progress=progress,
            schema=schema or load_schema(),
            queued=queued,
            folder=folder,
        )


def _ingest_fetched(
    *,
    source: Source,
    name: str,
    options: IngestOptions,
    hooks: list[IngestHook],
    progress: ProgressReporter | None,
    schema: Schema,
    queued: IngestionRun | None,
    folder: Path,
) -> IngestResult:
    """:func:`ingest_file` with ``folder``, this ingest's own, to fetch into."""
    flags = {"dry_run": options.dry_run, "forced": options.force}
    try:
        path = source.fetch(name, folder)
    except SourceError as exc:
        return _fetch_failed(source=source, name=name, exc=exc, flags=flags, queued=queued)
    sha256, size = file_checksum(path)
    ctx = StageContext(
        source=source.kind, filename=name, path=path, sha256=sha256, size=size, options=options
    )
    waiting = partial_log("ingest.waiting_for_lock", file=name, sha256=sha256)
    with load.advisory_lock(sha256=sha256, on_wait=waiting):
        runs_settle_stale(log=log)
        engines.leftovers_drop(running=runs_running_among)
        for hook in hooks:
            hook.recover(ctx)
        previous = run_loaded(sha256=sha256) if not (options.force or options.dry_run) else None
        if previous is not None:
            return _skipped(ctx, source=source, previous=previous, flags=flags, queued=queued)
        run = run_start(source=source.kind, filename=name, sha256=sha256, size=size, queued=queued, **flags)
        ctx.run = run
        done = _run_engine(ctx, run=run, schema=schema, options=options, progress=progress, hooks=hooks)
        if isinstance(done, IngestResult):
            return done
        # Still under the file's lock: while it is held, the run's pending lake step is its own.
        _after_commit_hooks(ctx, run=run, hooks=hooks)
    if not options.dry_run:
        source_after_success(source=source, run=run)
    counts = done.counts.as_dict()
    log.info("ingest.done", file=name, run_id=run.pk, status=run.status, dry_run=options.dry_run, **counts)
    return _result(ctx, status=RunStatus.SUCCEEDED, counts=done.counts)


def partial_log(event: str, **fields: Any) -> Callable[[], None]:
    def emit() -> None:
        log.info(event, **fields)

    return emit
