"""The worker's tasks (Procrastinate on our PostgreSQL, issue #15): uploads, source polls, stalled jobs.

``manage.py worker`` runs them. The ingest core is unchanged: each file is ingested
under the advisory lock on its checksum, so a task retried, or two workers polling the
same source, never load the same bytes twice. A worker killed mid-task stops sending
heartbeats; :func:`retry_stalled_jobs`, run every ``WORKER_STALLED_CHECK`` by whichever
worker is alive, hands its job to a worker again: the dead upload's run, queued again
meanwhile (:func:`ingestion.services.runs_fail_stale`), is loaded under the same id. An upload job that
ends without loading its file (its attempts spent while the database was unusable, given up
after its workers died, cancelled) has its run failed by :func:`settle_ended_uploads`, not
left ``queued``.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import structlog
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.blueprints import Blueprint
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Status

from common.errors import error_brief
from common.worker import task_connection
from dataflow.context import IngestOptions
from dataflow.sources import LocalSource
from ingestion.hooks import ingest_hooks
from ingestion.models import IngestionRun, RunStatus
from ingestion.pipeline import ingest_file
from ingestion.run_alerts import runs_alert_failed, runs_settle_stale
from ingestion.selectors import runs_started_since
from ingestion.services import runs_fail_given_up
from ingestion.upload_jobs import INGEST_UPLOAD_TASK, UPLOAD_SOURCE
from ingestion.uploads import upload_folder

log = structlog.get_logger("etl.worker")

POLL_SOURCE_TASK = "poll_source"
RETRY_STALLED_TASK = "retry_stalled_jobs"
SETTLE_UPLOADS_TASK = "settle_ended_uploads"
JOB_ENDED_UNDONE = (Status.FAILED, Status.CANCELLED, Status.ABORTED)
"""Final job statuses in which an upload's file was not loaded by its job."""
STALLED_MAX_ATTEMPTS = 3
"""A job whose worker died this many times is failed, not retried (it may be what kills them)."""
ENDED = (RunStatus.SUCCEEDED, RunStatus.SKIPPED, RunStatus.REJECTED)
"""A run in one of these has done its work (a failed one may be a dead worker's: ingested again)."""
UPLOAD_RETRY = RetryStrategy(max_attempts=5, exponential_wait=5)
"""An ingest raises only when the database is unusable: wait for it (5, 25, 125... s)."""


class UploadSource(LocalSource):
    """An accepted upload's folder as a source (each ingest fetches into a work folder of its
    own: :mod:`ingestion.fetch_folders`)."""

    kind = UPLOAD_SOURCE

    def __init__(self, run_id: int) -> None:
        super().__init__(upload_folder(run_id))
        self.run_id = run_id


def _upload_clear(run_id: int) -> None:
    """The run has ended: the raw zone keeps the bytes (LAKE_ENABLED); the spool goes (the work
    copy went with the ingest's fetch folder)."""
    shutil.rmtree(upload_folder(run_id), ignore_errors=True)


@app.task(name=INGEST_UPLOAD_TASK, retry=UPLOAD_RETRY)
def ingest_upload(run_id: int, warn_above: float | None = None, reject_above: float | None = None) -> str:
    """Ingest the accepted upload of run ``run_id``; returns the status its ingest ended with."""
    with task_connection():
        run = IngestionRun.objects.filter(pk=run_id).first()
        if run is None:  # deleted meanwhile: nothing to do, and nothing to retry
            log.warning("upload.run_missing", run_id=run_id)
            return "missing"
        if run.status in ENDED:  # its worker died after the end, before the job was marked done
            _upload_clear(run_id)
            return str(run.status)
        options = IngestOptions(
            work_dir=Path(settings.INGEST_WORK_DIR),
            batch_size=settings.INGEST_BATCH_SIZE,
            dry_run=run.dry_run,
            extra_date_formats=tuple(settings.INGEST_DATE_FORMATS),
            warn_above=warn_above,
            reject_above=reject_above,
            max_bytes=settings.INGEST_MAX_BYTES,
        )
        source = UploadSource(run_id)
        result = ingest_file(
            source=source, name=run.filename, options=options, hooks=ingest_hooks(), queued=run
        )
    _upload_clear(run_id)
    log.info("upload.ingested", run_id=result.run_id, accepted_as=run_id, status=result.status)
    return result.status


@app.task(name=POLL_SOURCE_TASK, pass_context=False)
def poll_source(timestamp: int, kind: str) -> str:
    """``manage.py ingest --source KIND --all``, as the cron recipe runs it (``INGEST_SCHEDULE``).

    Logged with the runs it started, per status (a poll that found nothing new started none)."""
    out, err = io.StringIO(), io.StringIO()
    started = timezone.now()
    with task_connection():
        try:
            call_command("ingest", "--all", "--source", kind, stdout=out, stderr=err)
        except CommandError as exc:  # the runs and alerts say the rest; the next tick tries again
            runs = runs_started_since(source=kind, since=started)
            log.warning("poll.not_all_loaded", source=kind, problem=error_brief(exc), runs=runs)
            return "not all loaded"
        runs = runs_started_since(source=kind, since=started)
    log.info("poll.done", source=kind, scheduled_at=timestamp, runs=runs)
    return "done"


def schedule_register(blueprint: Blueprint, schedule: dict[str, str]) -> None:
    """One periodic poll per source of ``schedule`` (``INGEST_SCHEDULE``); at most one waiting and
    one running per source, whatever the number of workers."""
    for kind, cron in schedule.items():
        blueprint.periodic(
            cron=cron,
            periodic_id=kind,
            task_kwargs={"kind": kind},
            lock=f"poll:{kind}",
            queueing_lock=f"poll:{kind}",
        )(blueprint.tasks[POLL_SOURCE_TASK])


@app.task(name=RETRY_STALLED_TASK, queueing_lock=RETRY_STALLED_TASK, pass_context=False)
async def retry_stalled_jobs(timestamp: int) -> int:
    """Give the jobs of workers silent for ``WORKER_STALLED_SECONDS`` to a live worker; returns how many."""
    manager = app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.WORKER_STALLED_SECONDS)
    retried = 0
    for job in stalled:
        if job.attempts + 1 >= STALLED_MAX_ATTEMPTS:
            log.error("worker.job_given_up", job_id=job.id, task=job.task_name, attempts=job.attempts + 1)
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            continue
        log.warning("worker.job_retried", job_id=job.id, task=job.task_name, attempt=job.attempts + 2)
        await manager.retry_job(job)
        retried += 1
    return retried


@app.task(name=SETTLE_UPLOADS_TASK, queueing_lock=SETTLE_UPLOADS_TASK, pass_context=False)
def settle_ended_uploads(timestamp: int) -> int:
    """Fail the runs of upload jobs that ended without loading their file; returns how many.

    A ``queued`` run whose job failed, was cancelled or aborted gets the job's end as its
    error; a ``running`` run whose process is gone is failed as stale, as the next ingest
    would, or, when its upload job will run again, queued again for it
    (:func:`ingestion.run_alerts.runs_settle_stale`). Each failed run is alerted once.
    """
    with task_connection():
        queued = list(IngestionRun.objects.filter(status=RunStatus.QUEUED).values_list("pk", flat=True))
        ended = ProcrastinateJob.objects.filter(
            task_name=INGEST_UPLOAD_TASK,
            status__in=[status.value for status in JOB_ENDED_UNDONE],
            args__run_id__in=queued,
        ).values_list("args__run_id", "id", "status", "attempts")
        given_up = runs_fail_given_up(
            jobs={run_id: (job_id, status, attempts) for run_id, job_id, status, attempts in ended}
        )
        for run_id in given_up:
            log.error("upload.given_up", run_id=run_id)
        runs_alert_failed(given_up)
        stale = runs_settle_stale(log=log)
    return len(given_up) + len(stale.failed) + len(stale.requeued)


app.periodic(cron=settings.WORKER_STALLED_CHECK, periodic_id="stalled")(retry_stalled_jobs)
app.periodic(cron=settings.WORKER_STALLED_CHECK, periodic_id="ended_uploads")(settle_ended_uploads)
schedule_register(app, settings.INGEST_SCHEDULE)
