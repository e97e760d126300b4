"""Real ``manage.py worker`` processes against the test database, for the worker's tests.

Every wait is bounded; every process started here is ended by the test (``worker_stop``).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

from testsupport import ROOT
from testsupport.ingest import child_env

PROCRASTINATE_TABLES = (
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
)
FAST_WORKER = {
    # A dead worker noticed within seconds, not a minute (defaults: 10, 30, 60, every minute).
    "WORKER_HEARTBEAT_SECONDS": "0.5",
    "WORKER_SHUTDOWN_GRACE_SECONDS": "1",
    "WORKER_STALLED_SECONDS": "3",
    "WORKER_STALLED_CHECK": "* * * * * *",
    "LOG_LEVEL": "info",
    "PYTHONUNBUFFERED": "1",
    "PYTHONFAULTHANDLER": "1",  # worker_wait's SIGABRT prints every thread's stack to the log
}


def procrastinate_truncate() -> None:
    """The queue's tables are not Django's to flush (unmanaged models): emptied by hand."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(PROCRASTINATE_TABLES)} RESTART IDENTITY CASCADE")


def worker_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return child_env(tmp_path) | FAST_WORKER | extra


def worker_start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "worker"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def worker_stop(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful stop), SIGKILL if it is still there after 30 s."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=30)


def worker_wait(worker: subprocess.Popen[bytes], *, timeout: float, log: Path) -> None:
    """Wait for the worker to end; one still there after ``timeout`` is aborted, and the failure
    shows its log with where each of its threads was (faulthandler)."""
    try:
        worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGABRT)
        worker.wait(timeout=30)
        raise AssertionError(
            f"the worker did not end within {timeout:.0f} s\n{log.read_text()[-8000:]}"
        ) from None


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:] if log is not None and log.exists() else ""
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{tail}")
        time.sleep(0.2)
