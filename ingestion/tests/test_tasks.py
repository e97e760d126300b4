"""The worker's periodic settling of upload runs whose job ended without loading the file
(``ingestion.tasks.settle_ended_uploads``), on the real queue tables: jobs are ended through
Procrastinate's own job manager, as a worker or an operator's ``procrastinate shell`` would."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Status

from alerts.base import AlertCause
from alerts.models import AlertRecord
from ingestion.models import IngestionRun, RunStatus
from ingestion.services import GIVEN_UP_MESSAGE, STALE_RUN_MESSAGE, run_start
from ingestion.tasks import settle_ended_uploads
from ingestion.upload_jobs import INGEST_UPLOAD_TASK
from ingestion.uploads import UploadOptions, accept_upload
from testsupport.ingest import HEADER, customer_lines

pytestmark = pytest.mark.django_db(transaction=True)


def _accepted(seed: int) -> tuple[IngestionRun, ProcrastinateJob]:
    data = "\n".join([HEADER, *customer_lines(3, seed=seed)]).encode() + b"\n"
    run = accept_upload(SimpleUploadedFile(f"partner-{seed}.csv", data), options=UploadOptions(), user=None)
    return run, ProcrastinateJob.objects.get(task_name=INGEST_UPLOAD_TASK, args__run_id=run.pk)


def _fail(job: ProcrastinateJob) -> None:
    async_to_sync(app.job_manager.finish_job_by_id_async)(
        job_id=job.id, status=Status.FAILED, delete_job=False
    )


def test_a_queued_run_whose_upload_job_failed_for_good_is_failed_with_the_jobs_end(
    worker_uploads: Any,
) -> None:
    run, job = _accepted(seed=1)
    _fail(job)

    assert settle_ended_uploads(timestamp=0) == 1

    run.refresh_from_db()
    job.refresh_from_db()
    assert run.status == RunStatus.FAILED
    expected = GIVEN_UP_MESSAGE.format(job_id=job.id, job_status="failed", attempts=job.attempts)
    assert run.error_message == expected
    assert run.finished_at is not None


def test_a_cancelled_upload_job_fails_its_run_too(worker_uploads: Any) -> None:
    run, job = _accepted(seed=2)
    assert app.job_manager.cancel_job_by_id(job.id)

    assert settle_ended_uploads(timestamp=0) == 1

    run.refresh_from_db()
    assert (run.status, run.error_message) == (
        RunStatus.FAILED,
        GIVEN_UP_MESSAGE.format(job_id=job.id, job_status="cancelled", attempts=0),
    )


def test_runs_whose_jobs_are_waiting_or_that_ended_otherwise_are_left_alone(worker_uploads: Any) -> None:
    waiting, _ = _accepted(seed=3)
    done, done_job = _accepted(seed=4)
    _fail(done_job)
    IngestionRun.objects.filter(pk=done.pk).update(status=RunStatus.SUCCEEDED)  # a worker's end won

    assert settle_ended_uploads(timestamp=0) == 0

    assert IngestionRun.objects.get(pk=waiting.pk).status == RunStatus.QUEUED
    assert IngestionRun.objects.get(pk=done.pk).status == RunStatus.SUCCEEDED


def test_settling_twice_fails_a_run_once(worker_uploads: Any) -> None:
    _, job = _accepted(seed=5)
    _fail(job)

    assert [settle_ended_uploads(timestamp=0), settle_ended_uploads(timestamp=0)] == [1, 0]
    assert IngestionRun.objects.filter(status=RunStatus.FAILED).count() == 1


def test_a_running_run_whose_process_is_gone_is_failed_as_stale(worker_uploads: Any) -> None:
    """A job given up after its workers died leaves its run ``running``, its file lock free."""
    run = run_start(source="upload", filename="partner.csv", sha256="ab" * 32, size=10)

    assert settle_ended_uploads(timestamp=0) == 1

    run.refresh_from_db()
    assert (run.status, run.error_message) == (RunStatus.FAILED, STALE_RUN_MESSAGE.format(pid=run.pid))
    assert _alerted() == {run.pk: AlertCause.RUN_FAILED}


def test_the_runs_failed_by_settling_are_alerted_once_each(worker_uploads: Any) -> None:
    """An upload given up, or a worker's run found dead, was failed without a word to anyone."""
    given_up, job = _accepted(seed=6)
    _fail(job)
    dead = run_start(source="upload", filename="partner.csv", sha256="ef" * 32, size=10)

    assert [settle_ended_uploads(timestamp=0), settle_ended_uploads(timestamp=0)] == [2, 0]

    assert _alerted() == {given_up.pk: AlertCause.RUN_FAILED, dead.pk: AlertCause.RUN_FAILED}
    message = AlertRecord.objects.get(run_id=given_up.pk).message
    assert GIVEN_UP_MESSAGE.format(job_id=job.id, job_status="failed", attempts=0) in message


def _alerted() -> dict[int, str]:
    return dict(AlertRecord.objects.values_list("run_id", "cause"))


def test_an_upload_run_whose_worker_died_is_queued_again_while_its_job_will_run(worker_uploads: Any) -> None:
    """Its client follows the run id it was given: failed, it stopped following a file the
    retried job then loaded under a new run."""
    run, job = _accepted(seed=7)
    taken = run_start(source="upload", filename=run.filename, sha256=run.sha256, size=run.size, queued=run)
    assert (taken.pk, taken.status) == (run.pk, RunStatus.RUNNING)  # no process holds its file's lock

    assert settle_ended_uploads(timestamp=0) == 1

    run.refresh_from_db()
    assert (run.status, run.pid, run.error_message) == (RunStatus.QUEUED, None, "")
    assert _alerted() == {}
    _fail(job)  # its workers kept dying: given up
    assert settle_ended_uploads(timestamp=0) == 1
    run.refresh_from_db()
    job.refresh_from_db()
    expected = GIVEN_UP_MESSAGE.format(job_id=job.id, job_status="failed", attempts=job.attempts)
    assert (run.status, run.error_message) == (RunStatus.FAILED, expected)
    assert _alerted() == {run.pk: AlertCause.RUN_FAILED}
