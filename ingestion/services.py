"""Writes on ingestion runs: start, finish, skip, fail, and clean up after killed processes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

import psutil
from django.db import transaction
from django.utils import timezone

from config.redaction import redact
from dataflow.context import RunOutcome
from dataflow.load import lock_is_free
from ingestion.models import IngestionRun, RunStatus
from ingestion.selectors import runs_running
from ingestion.upload_jobs import UPLOAD_SOURCE, upload_runs_to_retry

STALE_RUN_MESSAGE = "the process running this ingest (pid {pid}) stopped before finishing"
RETRIED_AS = "retried as run {run_id}"
GIVEN_UP_MESSAGE = (
    "its upload job {job_id} ended {job_status} after {attempts} attempt(s) without loading the file; "
    "the worker's log says why"
)


def run_start(
    *,
    source: str,
    filename: str,
    sha256: str,
    size: int | None,
    dry_run: bool = False,
    forced: bool = False,
    queued: IngestionRun | None = None,
) -> IngestionRun:
    """Record a run as ``running``, committed at once: if the process dies, the next ingest sees it.

    ``queued``: the run an upload was accepted as, taken by this process if it is still
    ``queued`` (a run whose worker died is queued again for its job's retry: :func:`runs_fail_stale`).
    A job retried after its run was failed (given up, then retried by hand) gets a new run, and
    the old one says which (a client following the old one finds it).
    """
    if queued is not None:
        taken = IngestionRun.objects.filter(pk=queued.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, pid=os.getpid(), started_at=timezone.now()
        )
        queued.refresh_from_db()
        if taken:
            return queued
    run = IngestionRun.objects.create(
        source=source,
        filename=filename,
        sha256=sha256,
        size=size,
        dry_run=dry_run,
        forced=forced,
        pid=os.getpid(),
        status=RunStatus.RUNNING,
        queued_at=queued.queued_at if queued is not None else None,
        requested_by=queued.requested_by if queued is not None else "",
    )
    if queued is not None and queued.status == RunStatus.FAILED:  # failed as stale: its task retried
        queued.warnings = [*queued.warnings, RETRIED_AS.format(run_id=run.pk)]
        queued.save(update_fields=["warnings"])
    return run


def run_queue(
    *, source: str, filename: str, sha256: str, size: int, dry_run: bool, requested_by: str
) -> IngestionRun:
    """Record an accepted upload as ``queued`` (no process yet: a worker takes it, see run_start)."""
    now = timezone.now()
    return IngestionRun.objects.create(
        source=source,
        filename=filename,
        sha256=sha256,
        size=size,
        dry_run=dry_run,
        status=RunStatus.QUEUED,
        queued_at=now,
        requested_by=requested_by,
    )


def run_finish(*, run: IngestionRun, status: str, outcome: RunOutcome) -> IngestionRun:
    """Write the run's final status and counts (callers decide the transaction it belongs to)."""
    counts = outcome.counts
    run.status = status
    run.finished_at = timezone.now()
    run.rows_read = counts.read
    run.rows_loaded = counts.loaded
    run.rows_inserted = counts.inserted
    run.rows_updated = counts.updated
    run.rows_unchanged = counts.unchanged
    run.rows_duplicates = counts.duplicates
    run.rows_quarantined = counts.quarantined
    run.report = outcome.report
    run.warnings = outcome.warnings
    # Stored texts are read in the admin and the API: no secret in them (issue #14).
    run.error_message = redact(outcome.error_message)
    run.error_trace = redact(outcome.error_trace)
    run.save()
    return run


def run_record(
    *,
    source: str,
    filename: str,
    sha256: str,
    size: int | None,
    status: str,
    outcome: RunOutcome,
    queued: IngestionRun | None = None,
    **flags: bool,
) -> IngestionRun:
    """A run that ends as soon as it starts (skipped, or failed before reading)."""
    with transaction.atomic():
        run = run_start(source=source, filename=filename, sha256=sha256, size=size, queued=queued, **flags)
        return run_finish(run=run, status=status, outcome=outcome)


class StaleRuns(NamedTuple):
    """What :func:`runs_fail_stale` did with the ``running`` runs whose process is gone."""

    failed: list[int]
    requeued: list[int]
    """Upload runs put back to ``queued``: their job runs again and takes them (:func:`run_start`)."""


def _process_alive(run: IngestionRun) -> bool:
    """A live ingest holds the advisory lock on its file's checksum for its whole duration, and
    PostgreSQL drops the lock when the process dies: a running run whose lock is free is dead
    (whatever host it ran on). Runs without a checksum: the pid, on this host."""
    if run.sha256:
        return not lock_is_free(sha256=run.sha256)
    return bool(run.pid and psutil.pid_exists(run.pid))


def runs_fail_stale() -> StaleRuns:
    """Mark failed the ``running`` runs whose process is gone, but for an upload whose job will
    run again: that run goes back to ``queued`` (its client keeps following the run id it was
    given, which the retry takes over; it was failed, and the retry made a new run)."""
    dead = [run for run in runs_running() if not _process_alive(run)]
    retried = upload_runs_to_retry([run.pk for run in dead if run.source == UPLOAD_SOURCE])
    stale = StaleRuns(failed=[], requeued=[])
    for run in dead:
        if run.pk in retried:
            # Only if still the dead process's: the retry may have taken it meanwhile.
            if IngestionRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, pid=run.pid).update(
                status=RunStatus.QUEUED, pid=None
            ):
                stale.requeued.append(run.pk)
            continue
        run.status = RunStatus.FAILED
        run.finished_at = timezone.now()
        run.error_message = STALE_RUN_MESSAGE.format(pid=run.pid)
        run.save(update_fields=["status", "finished_at", "error_message"])
        stale.failed.append(run.pk)
    return stale


def runs_fail_given_up(*, jobs: Mapping[int, tuple[int, str, int]]) -> list[int]:
    """Mark failed the ``queued`` runs among ``jobs`` (run id -> its upload job's id, final
    status, attempts); returns their ids. A run a worker took meanwhile is left alone."""
    failed = []
    for run_id, (job_id, job_status, attempts) in sorted(jobs.items()):
        message = GIVEN_UP_MESSAGE.format(job_id=job_id, job_status=job_status, attempts=attempts)
        if IngestionRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error_message=message
        ):
            failed.append(run_id)
    return failed
