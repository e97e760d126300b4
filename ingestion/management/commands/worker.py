"""``manage.py worker``: run a worker (Procrastinate's, on our PostgreSQL) until SIGTERM or Ctrl-C.

It ingests the accepted uploads, runs the ``INGEST_SCHEDULE`` polls and hands the
jobs of dead workers to live ones (:mod:`ingestion.tasks`). Start as many as you
like, on as many machines as share the database (and ``UPLOAD_DIR``). SIGTERM
stops it gracefully: running jobs get ``WORKER_SHUTDOWN_GRACE_SECONDS`` to end.
``make run`` starts one beside the server, with ``--stop-with`` the server's pid.

The signals are ours, not Procrastinate's (``install_signal_handlers=False``):
Procrastinate installs its handlers only once its loop runs, after opening its
connection and registering the worker, and a SIGTERM before that (``kill`` right
after ``make run`` printed its pids) killed the process on the spot. Ours are in
place before anything else: a stop before the worker runs ends it at once, one
after cancels the worker's task, which Procrastinate turns into a graceful stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from typing import Any

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from procrastinate import exceptions as procrastinate_errors
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from common.cli import positive_int
from common.errors import error_brief
from common.schema import not_migrated_message
from dataflow.retry import db_ensure_connection
from ingestion.tasks import RETRY_STALLED_TASK, SETTLE_UPLOADS_TASK

DATABASE_UNREACHABLE = "database unreachable: {problem}"
STARTED = (
    "Worker started (pid {pid}): {concurrency} job(s) at once; scheduled polls: {schedule}; "
    "lake maintenance: {maintenance}."
)
STOPPED = "Worker stopped (pid {pid})."
STOPPED_BEFORE_START = "Worker stopped before it started (pid {pid})."
WATCH_SECONDS = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_stopping = threading.Event()
"""Set by the first stop signal: ``--stop-with`` then sends none (a second one would end it at once)."""


class StopRequested(Exception):
    """SIGTERM or SIGINT before the worker's loop runs: nothing is in progress, end now."""


def _stop_now(signum: int, frame: Any) -> None:
    raise StopRequested(signal.Signals(signum).name)


async def _worker_run(options: dict[str, Any]) -> None:
    """Run the worker until SIGTERM/SIGINT, which cancels it: Procrastinate then stops gracefully
    (running jobs get their grace period). A second signal gets the default action.

    A stop while the connection pool opens is not a cancel: cancelled there, psycopg's pool
    kept reconnecting in tasks that the loop's shutdown then waited for, forever. The open
    completes, the pool closes, and the worker ends without starting."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    worker: asyncio.Task[None] | None = None

    def stop() -> None:
        _stopping.set()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        stop_requested.set()
        if worker is not None:
            worker.cancel()

    for signum in STOP_SIGNALS:  # replaces _stop_now; no await before, so no signal falls between
        loop.add_signal_handler(signum, stop)
    async with app.open_async():
        if stop_requested.is_set():
            return
        worker = asyncio.create_task(app.run_worker_async(install_signal_handlers=False, **options))
        try:
            await worker
        except asyncio.CancelledError:
            if not stop_requested.is_set():
                raise  # not ours: the loop is being torn down


QUIET_TASKS = frozenset({RETRY_STALLED_TASK, SETTLE_UPLOADS_TASK})
"""The periodic checks run every WORKER_STALLED_CHECK: what they find they log themselves
(``worker.job_retried``, ``worker.job_given_up``, ``upload.given_up``)."""


class QuietStalledChecks(logging.Filter):
    """Procrastinate's info lines about the periodic checks of :data:`QUIET_TASKS` (several a
    minute, every minute) are dropped; its warnings and errors about them are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        job = getattr(record, "job", None)
        names = {getattr(record, "task", None), getattr(record, "task_name", None)}
        if isinstance(job, dict):
            names.add(job.get("task_name"))
        if names & QUIET_TASKS:
            return False
        # "Waiting for job to finish: worker: <call string> ..." at a stop names its job only in
        # the message (its extra has no job).
        message = record.getMessage()
        return not any(f": {task}[" in message for task in QUIET_TASKS)


def _logging_setup() -> None:
    logging.getLogger("procrastinate").setLevel(settings.LOG_LEVEL)
    for name in ("procrastinate.worker", "procrastinate.worker.worker", "procrastinate.periodic"):
        logging.getLogger(name).addFilter(QuietStalledChecks())


def _stop_with(pid: int) -> None:
    """SIGTERM to this worker (a graceful stop) once process ``pid`` has ended."""

    def alive() -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def watch() -> None:
        while alive():
            time.sleep(WATCH_SECONDS)
        if not _stopping.is_set():  # Ctrl-C reached both: the worker is already stopping
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name=f"stop-with-{pid}", daemon=True).start()


class Command(BaseCommand):
    help = "Run a worker: ingests uploads, runs the INGEST_SCHEDULE polls, retries dead workers' jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency",
            type=positive_int,
            default=None,
            help="Jobs run at once (default WORKER_CONCURRENCY).",
        )
        parser.add_argument("--name", default=None, help="The worker's name in the logs.")
        parser.add_argument(
            "--stop-with",
            type=int,
            metavar="PID",
            default=None,
            help="Stop (gracefully) when process PID ends (make run: the server's).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, _stop_now)
        try:
            self._run(options)
        except StopRequested:
            self.stdout.write(STOPPED_BEFORE_START.format(pid=os.getpid()))
            return
        self.stdout.write(STOPPED.format(pid=os.getpid()))

    def _run(self, options: dict[str, Any]) -> None:
        _logging_setup()
        if options["stop_with"]:
            _stop_with(options["stop_with"])
        try:
            db_ensure_connection()  # retried: a database that is restarting delays the start
        except DatabaseError as exc:
            raise CommandError(DATABASE_UNREACHABLE.format(problem=error_brief(exc))) from exc
        behind = not_migrated_message()  # its job tables too: else "Database error." after it started
        if behind is not None:
            raise CommandError(behind)
        worker_options: dict[str, Any] = {}
        if options["concurrency"] is not None:
            worker_options["concurrency"] = options["concurrency"]
        if options["name"]:
            worker_options["name"] = options["name"]
        schedule = "; ".join(f"{k}={v}" for k, v in settings.INGEST_SCHEDULE.items()) or "none"
        concurrency = worker_options.get("concurrency", settings.WORKER_CONCURRENCY)
        maintenance = (settings.LAKE_ENABLED and settings.LAKE_MAINTENANCE_SCHEDULE) or "off"
        self.stdout.write(
            STARTED.format(
                pid=os.getpid(), concurrency=concurrency, schedule=schedule, maintenance=maintenance
            )
        )
        self.stdout.flush()
        connector = app.connector
        worker_connector = (
            connector.get_worker_connector() if isinstance(connector, DjangoConnector) else connector
        )
        try:
            with app.replace_connector(worker_connector):
                asyncio.run(_worker_run(worker_options))
        except procrastinate_errors.ConnectorException as exc:
            raise CommandError(DATABASE_UNREACHABLE.format(problem=error_brief(exc))) from exc
