"""Real ``manage.py worker`` processes on the test database: an accepted upload is picked up and
ingested; a worker killed in the middle of an ingest has its job retried by another worker, which
fails the dead run as stale and loads the file once."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from customers.models import Customer
from ingestion.management.commands.worker import QuietStalledChecks
from ingestion.models import IngestionRun, RunStatus
from ingestion.tasks import RETRY_STALLED_TASK, SETTLE_UPLOADS_TASK
from ingestion.upload_jobs import INGEST_UPLOAD_TASK
from ingestion.uploads import UploadOptions, accept_upload, upload_folder
from testsupport.ingest import HEADER, customer_lines
from testsupport.pause import PAUSE_IN_COMMIT_ENV
from testsupport.servers import SlowProxy
from testsupport.worker import wait_for, worker_env, worker_start, worker_stop, worker_wait

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _accepted(rows: int) -> IngestionRun:
    data = "\n".join([HEADER, *customer_lines(rows, seed=7)]).encode() + b"\n"
    return accept_upload(SimpleUploadedFile("partner.csv", data), options=UploadOptions(), user=None)


def _status(run: IngestionRun) -> str:
    run.refresh_from_db()
    return str(run.status)


def test_a_queued_upload_is_picked_up_by_a_worker_and_loaded(worker_uploads: Any, tmp_path: Path) -> None:
    run = _accepted(40)
    log = tmp_path / "worker.log"
    worker = worker_start(worker_env(tmp_path, UPLOAD_DIR=str(worker_uploads.UPLOAD_DIR)), log)
    try:
        wait_for(
            lambda: _status(run) not in ("queued", "running"), timeout=120, what="the run's end", log=log
        )
    finally:
        worker_stop(worker)
    assert (run.status, run.rows_loaded, run.pid) == (RunStatus.SUCCEEDED, 40, worker.pid)
    assert run.queued_at is not None
    assert run.started_at >= run.queued_at
    assert Customer.objects.count() == 40
    assert not upload_folder(run.pk).exists()
    # Done, and not kept (delete_jobs="successful"); a stalled-jobs check may be queued meanwhile.
    assert not ProcrastinateJob.objects.filter(task_name=INGEST_UPLOAD_TASK).exists()
    assert worker.returncode == 0, log.read_text()[-2000:]  # SIGTERM: a graceful stop
    assert f"Worker stopped (pid {worker.pid})." in log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_stopped_the_moment_it_started_ends_gracefully(
    worker_uploads: Any, tmp_path: Path, signum: signal.Signals
) -> None:
    """``kill`` right after ``make run`` printed the pids: before its loop runs, the worker is not
    killed on the spot (Procrastinate's own handlers come later), it ends as asked, exit code 0."""
    log = tmp_path / "worker.log"
    worker = worker_start(worker_env(tmp_path, UPLOAD_DIR=str(worker_uploads.UPLOAD_DIR)), log)
    try:
        wait_for(lambda: "Worker started" in log.read_text(), timeout=120, what="the start", log=log)
        worker.send_signal(signum)
        worker_wait(worker, timeout=60, log=log)
    finally:
        worker_stop(worker)
    assert worker.returncode == 0, log.read_text()[-2000:]
    assert "Worker stopped" in log.read_text().split("Worker started", 1)[1], log.read_text()[-2000:]


def _database_upstream() -> str | tuple[str, int]:
    """Where this test database's server listens: its Unix socket, or host and port."""
    params = connection.get_connection_params()
    host, port = str(params.get("host") or "/tmp"), int(params.get("port") or 5432)
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)


def test_a_worker_stopped_while_its_connection_pool_opens_ends_gracefully(
    worker_uploads: Any, tmp_path: Path
) -> None:
    """A stop while Procrastinate's pool waits for its connections (the database slow to accept
    them, here 3 s each) is no cancel of the open: cancelled there, psycopg's pool went on
    reconnecting in tasks that the shutdown waited for, and the worker never ended."""
    proxy = SlowProxy(_database_upstream(), fast=1, delay=3).start()
    user = str(connection.get_connection_params().get("user") or "")
    env = worker_env(
        tmp_path,
        UPLOAD_DIR=str(worker_uploads.UPLOAD_DIR),
        DB_HOST="127.0.0.1",
        DB_PORT=str(proxy.port),
        DB_USER=user,
    )
    log = tmp_path / "worker.log"
    try:
        worker = worker_start(env, log)
        try:
            wait_for(lambda: "Worker started" in log.read_text(), timeout=120, what="the start", log=log)
            # The first connection was the start's check; the next ones are the pool's, held.
            wait_for(lambda: proxy.connections >= 2, timeout=60, what="the pool's first connection", log=log)
            worker.send_signal(signal.SIGTERM)
            worker_wait(worker, timeout=60, log=log)
        finally:
            worker_stop(worker)
    finally:
        proxy.stop()
    assert worker.returncode == 0, log.read_text()[-2000:]
    assert f"Worker stopped (pid {worker.pid})." in log.read_text()


def test_a_worker_killed_mid_ingest_has_its_job_retried_by_another_and_nothing_loads_twice(
    worker_uploads: Any, tmp_path: Path
) -> None:
    run = _accepted(30)
    marker = tmp_path / "in-commit"
    log = tmp_path / "workers.log"
    env = worker_env(tmp_path, UPLOAD_DIR=str(worker_uploads.UPLOAD_DIR))
    first = worker_start(
        env | {"DJANGO_SETTINGS_MODULE": "testsupport.settings_pause", PAUSE_IN_COMMIT_ENV: str(marker)}, log
    )
    try:
        wait_for(marker.exists, timeout=120, what="the first worker inside its load's transaction", log=log)
        first.send_signal(signal.SIGKILL)  # no handler, no cleanup: the transaction dies with it
        first.wait(timeout=30)
    finally:
        worker_stop(first)
    assert (_status(run), Customer.objects.count()) == (RunStatus.RUNNING, 0)
    second = worker_start(env, log)
    try:
        wait_for(
            lambda: IngestionRun.objects.filter(status=RunStatus.SUCCEEDED).exists(),
            timeout=120,
            what="the job retried and loaded by the second worker",
            log=log,
        )
    finally:
        worker_stop(second)
    # The run the upload was accepted as is the one the retried job loaded: its client saw it
    # queued again, then succeeded (it was failed as stale, and a new run loaded the file).
    run.refresh_from_db()
    assert (run.status, run.pid, run.rows_loaded, run.error_message) == (
        RunStatus.SUCCEEDED,
        second.pid,
        30,
        "",
    )
    assert IngestionRun.objects.count() == 1
    assert Customer.objects.count() == 30
    assert "worker.job_retried" in log.read_text()
    assert "upload.requeued" in log.read_text()


def test_a_scheduled_poll_ingests_the_new_files_of_its_source_without_cron(
    worker_uploads: Any, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "drop.csv").write_text("\n".join([HEADER, *customer_lines(12, seed=3)]) + "\n")
    log = tmp_path / "worker.log"
    env = worker_env(
        tmp_path, UPLOAD_DIR=str(worker_uploads.UPLOAD_DIR), INGEST_SCHEDULE="local=* * * * * */2"
    )
    worker = worker_start(env, log)
    try:
        wait_for(
            lambda: IngestionRun.objects.filter(status=RunStatus.SUCCEEDED).exists(),
            timeout=120,
            what="the scheduled poll's ingest",
            log=log,
        )
        # Later ticks find nothing new: no second run of the same file (ingest --all skips it).
        wait_for(lambda: log.read_text().count("poll.done") >= 3, timeout=60, what="two more polls", log=log)
    finally:
        worker_stop(worker)
    run = IngestionRun.objects.get()
    assert (run.source, run.filename, run.rows_loaded) == ("local", "drop.csv", 12)
    assert Customer.objects.count() == 12
    polls = [line for line in log.read_text().splitlines() if "poll.done" in line]
    assert "runs={'succeeded': 1}" in polls[0], polls
    assert all("runs={}" in line for line in polls[1:]), polls


def test_the_periodic_checks_run_every_tick_without_a_log_line_each(
    worker_uploads: Any, tmp_path: Path
) -> None:
    """With the checks every second (the tests' WORKER_STALLED_CHECK), both ran for ticks three
    seconds after the start and Procrastinate's info lines about them (three per check) stayed out
    of the worker's log."""
    log = tmp_path / "worker.log"
    started = int(time.time())
    worker = worker_start(worker_env(tmp_path, UPLOAD_DIR=str(worker_uploads.UPLOAD_DIR)), log)
    try:
        wait_for(
            lambda: min(_last_ticks(RETRY_STALLED_TASK, SETTLE_UPLOADS_TASK)) >= started + 3,
            timeout=120,
            what="each check deferred for a tick 3 s after the start",
            log=log,
        )
    finally:
        worker_stop(worker)
    text = log.read_text()
    about_checks = [
        line
        for line in text.splitlines()
        if (RETRY_STALLED_TASK in line or SETTLE_UPLOADS_TASK in line) and "[info" in line
    ]
    assert "Worker started" in text
    assert about_checks == []  # a warning about them would stay


def _last_ticks(*tasks: str) -> list[int]:
    """The latest tick each periodic task was deferred for (0 if none yet)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, max(defer_timestamp) FROM procrastinate_periodic_defers GROUP BY task_name"
        )
        ticks = dict(cursor.fetchall())
    return [ticks.get(task) or 0 for task in tasks]


def test_the_stop_s_wait_for_a_periodic_check_is_not_logged_but_for_an_ingest_it_is() -> None:
    """At a stop Procrastinate logs each running job's call string in the message only (its
    extra names no job): a check's line is dropped, an upload's kept, a warning always kept."""

    def waiting(call: str, level: int = logging.INFO) -> logging.LogRecord:
        message = f"Waiting for job to finish: worker: {call} (started 0.128 s ago)"
        record = logging.LogRecord("procrastinate.worker.worker", level, __file__, 1, message, None, None)
        record.action = "ending_job"
        return record

    quiet = QuietStalledChecks()
    assert not quiet.filter(waiting(f"{SETTLE_UPLOADS_TASK}[6](timestamp=1796396532)"))
    assert not quiet.filter(waiting(f"{RETRY_STALLED_TASK}[7](timestamp=1796396532)"))
    assert quiet.filter(waiting(f"{INGEST_UPLOAD_TASK}[8](run_id=3)"))
    assert quiet.filter(waiting(f"{SETTLE_UPLOADS_TASK}[6](timestamp=1)", level=logging.WARNING))


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_a_concurrency_below_one_is_bad_usage_before_the_worker_starts(value: str, tmp_path: Path) -> None:
    """``--concurrency 0`` was a CommandError with exit 1, unlike every other bad option (2)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "worker", "--concurrency", value],
        cwd=Path(__file__).resolve().parents[2],
        env=worker_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"argument --concurrency: expected an integer >= 1, not '{value}'" in done.stderr
    assert "Worker started" not in done.stdout
