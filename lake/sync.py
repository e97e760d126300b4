"""Publishing a run to the lake after its PostgreSQL commit, and repairing the lake from PostgreSQL.

PostgreSQL is the source of truth. The lake step runs after the load has
committed and never undoes it: its outcome is recorded on the run
(``lake_status``/``lake_error``); a failed step is repaired by the next run
(which publishes the failed run's changes, still in the outbox) or by
``manage.py lake sync`` (a rebuild from the customers table).
"""

from __future__ import annotations

import contextlib
import shutil
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import structlog
from django.conf import settings
from django.db import connection

from common.errors import error_line
from config.redaction import redact
from dataflow.load import lock_is_free
from ingestion.models import IngestionRun, LakeStatus
from lake.catalog import lake_catalog
from lake.config import LakeConfig, lake_config
from lake.publish import runs_publish
from lake.zones import lake_processed_upload, lake_processed_write

log = structlog.get_logger("etl.lake.sync")  # its name before the move (#17): log filters use it

ERR_LAKE_STEP = "lake: run {run_id}: {error}"
_LOCK_KEY = 7_000_007
"""pg_advisory_lock key: one lake writer at a time (Iceberg commits would conflict)."""


@dataclass
class LakeOutcome:
    status: str
    mode: str = ""
    """``changes`` (the runs' changes appended), ``rebuild`` or empty when the step did not write."""
    snapshot_id: int | None = None
    repaired_runs: list[int] = field(default_factory=list)
    error: str = ""


@contextlib.contextmanager
def writer_lock() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def _failed_runs(*, exclude: int | None = None) -> list[int]:
    """Runs whose lake step must be redone: failed ones, and pending ones whose ingest died.

    A live ingest holds its file's advisory lock until its lake step is done, so a pending
    run whose lock is free was killed after its commit (or is ours: we hold that lock).
    """
    runs = IngestionRun.objects.filter(lake_status__in=[LakeStatus.FAILED, LakeStatus.PENDING])
    if exclude is not None:
        runs = runs.exclude(pk=exclude)
    return [
        run_id
        for run_id, status, sha256 in runs.order_by("id").values_list("id", "lake_status", "sha256")
        if status == LakeStatus.FAILED or lock_is_free(sha256=sha256)
    ]


def _publish(
    *, config: LakeConfig, run: IngestionRun | None, repair: list[int], sync: bool = False
) -> LakeOutcome:
    published = runs_publish(
        lake_catalog(config), runs=repair, current=run.pk if run is not None else None, sync=sync
    )
    return LakeOutcome(
        status=LakeStatus.SUCCEEDED,
        mode=published.mode,
        snapshot_id=published.snapshot_id,
        repaired_runs=repair,
    )


def lake_publish_run(
    *,
    run: IngestionRun,
    processed: pl.DataFrame | None = None,
    processed_parts: Sequence[Path] = (),
    config: LakeConfig | None = None,
) -> LakeOutcome:
    """The lake step of a run, called after its PostgreSQL commit. Never raises.

    Writes ``processed`` (the run's cleaned records, extra columns included;
    or ``processed_parts``, the same as Parquet files spooled batch by batch) to
    processed/, then publishes the rows the run changed (captured in its load's
    transaction: :mod:`lake.outbox`) to the change log and the count deltas, one
    snapshot each with the run id (:mod:`lake.publish`; a rebuild from the
    customers table when one is due), and the run's data-quality rows. Earlier
    failed lake steps are repaired on the way. The outcome is saved on ``run``.
    """
    if not settings.LAKE_ENABLED:
        run.lake_status, run.lake_error = LakeStatus.DISABLED, ""
        run.save(update_fields=["lake_status", "lake_error"])
        return LakeOutcome(status=LakeStatus.DISABLED)
    config = config or lake_config()
    try:
        with writer_lock():
            if processed is not None:
                lake_processed_write(run_id=run.pk, frame=processed, config=config)
            elif processed_parts:
                lake_processed_upload(run_id=run.pk, parts=processed_parts, config=config)
            outcome = _publish(config=config, run=run, repair=_failed_runs(exclude=run.pk))
    except Exception as exc:
        error = error_line(exc)
        message = redact(ERR_LAKE_STEP.format(run_id=run.pk, error=error))
        log.error("lake.failed", run_id=run.pk, error=message)
        run.lake_status, run.lake_error = LakeStatus.FAILED, redact(f"{message}\n\n{traceback.format_exc()}")
        run.save(update_fields=["lake_status", "lake_error"])
        return LakeOutcome(status=LakeStatus.FAILED, error=message)
    IngestionRun.objects.filter(pk__in=outcome.repaired_runs).update(lake_status=LakeStatus.REPAIRED)
    run.lake_status, run.lake_error = LakeStatus.SUCCEEDED, ""
    run.lake_snapshot_id = outcome.snapshot_id  # shown on the run's report page (issue #15)
    run.save(update_fields=["lake_status", "lake_error", "lake_snapshot_id"])
    log.info("lake.published", run_id=run.pk, mode=outcome.mode, snapshot_id=outcome.snapshot_id)
    return outcome


def lake_step_failed(*, run: IngestionRun, error: str) -> LakeOutcome:
    """Record that the run's lake step failed (before publishing); the next run or ``lake sync`` repairs."""
    message = ERR_LAKE_STEP.format(run_id=run.pk, error=error)
    log.error("lake.failed", run_id=run.pk, error=message)
    run.lake_status, run.lake_error = LakeStatus.FAILED, message
    run.save(update_fields=["lake_status", "lake_error"])
    return LakeOutcome(status=LakeStatus.FAILED, error=message)


def lake_pending_complete(*, spool_root: Path | None = None, config: LakeConfig | None = None) -> list[int]:
    """Complete the lake step of runs left ``pending`` by a killed ingest; their ids. Never raises.

    Their processed records still spooled under ``spool_root`` go to processed/; curated/ is
    published from the outbox, where their load left their changes (a rebuild if one is due).
    On failure the runs stay pending for the next command.
    """
    pending = [
        run_id
        for run_id, sha256 in IngestionRun.objects.filter(lake_status=LakeStatus.PENDING)
        .order_by("id")
        .values_list("id", "sha256")
        if lock_is_free(sha256=sha256)
    ]
    if not pending:
        return []
    config = config or lake_config()
    try:
        with writer_lock():
            for run_id in pending:
                parts = sorted((spool_root / f"run-{run_id}").glob("part-*.parquet")) if spool_root else []
                if parts:
                    lake_processed_upload(run_id=run_id, parts=parts, config=config)
            outcome = _publish(config=config, run=None, repair=_failed_runs())
    except Exception as exc:
        log.error("lake.pending_failed", run_ids=pending, error=redact(f"{type(exc).__name__}: {exc}"))
        return []
    IngestionRun.objects.filter(pk__in=outcome.repaired_runs).update(lake_status=LakeStatus.REPAIRED)
    for run_id in pending:
        if spool_root is not None:
            shutil.rmtree(spool_root / f"run-{run_id}", ignore_errors=True)
    log.warning("lake.pending_completed", run_ids=pending, snapshot_id=outcome.snapshot_id)
    return pending


def lake_sync(*, config: LakeConfig | None = None) -> LakeOutcome:
    """Rebuild the curated tables from PostgreSQL (one snapshot each) and mark failed lake steps repaired."""
    config = config or lake_config()
    with writer_lock():
        repair = _failed_runs()
        outcome = _publish(config=config, run=None, repair=repair, sync=True)
    IngestionRun.objects.filter(pk__in=repair).update(lake_status=LakeStatus.REPAIRED)
    return outcome
