"""``make stop``: stop what ``make run`` started, from any shell.

``scripts/run.sh`` writes the server's PID to ``.data/run.pid`` (runserver, or
gunicorn's master) and its worker's to ``.data/worker.pid``. This sends the server
SIGTERM and waits for it to end (gunicorn ends its workers first), then the worker
(which lets its running job finish for ``WORKER_SHUTDOWN_GRACE_SECONDS``; a job still
running after that is killed with it, and retried by the next worker that starts),
then stops the embedded PostgreSQL of this checkout
unless another process still uses it (an ``ingest`` in progress, a test
session): those are named, and the last of them stops it when it ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.embedded_pg.supervisor import (  # noqa: E402 (the project root first)
    pid_alive,
    server_lock,
    server_pid,
    server_stop,
    users_prune,
)

PIDFILE = ROOT / ".data" / "run.pid"
WORKER_PIDFILE = ROOT / ".data" / "worker.pid"
SERVER_TIMEOUT = 30.0
WORKER_MARGIN = 15.0
"""Seconds past the worker's grace period before it is killed (its own shutdown, the database's)."""
NOTHING_TO_STOP = "No server started by make run is running."
SERVER_STOPPED = "Stopped the server (pid {pid})."
SERVER_KILLED = "The server (pid {pid}) ignored SIGTERM for {seconds:.0f} s: killed."
WORKER_STOPPED = "Stopped the worker (pid {pid})."
WORKER_KILLED = "The worker (pid {pid}) was still running after {seconds:.0f} s: killed (its job is retried)."
PG_STOPPED = "Stopped the embedded PostgreSQL ({pgdata})."
PG_NOT_RUNNING = "The embedded PostgreSQL is stopped."
NO_SETTINGS = "Cannot read the settings to find the embedded PostgreSQL: {problem}"
PG_IN_USE = "The embedded PostgreSQL keeps running for: {users} (the last one to end stops it)."


def our_server(pid: int) -> bool:
    """The PID is still the server run.sh started: alive, in this checkout, a runserver or gunicorn."""
    try:
        proc = psutil.Process(pid)
        cmdline, cwd = " ".join(proc.cmdline()), proc.cwd()
    except psutil.Error:
        return False
    return pid_alive(pid) and Path(cwd) == ROOT and ("runserver" in cmdline or "gunicorn" in cmdline)


def our_worker(pid: int) -> bool:
    """The PID is still the worker run.sh started: alive, in this checkout, ``manage.py worker``."""
    try:
        proc = psutil.Process(pid)
        cmdline, cwd = proc.cmdline(), proc.cwd()
    except psutil.Error:
        return False
    return pid_alive(pid) and Path(cwd) == ROOT and "worker" in cmdline and "manage.py" in cmdline


def stop_wait(pid: int, *, timeout: float) -> bool:
    """SIGTERM, then up to ``timeout`` seconds for ``pid`` to end; SIGKILL after. True: it ended by itself."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return False


def server_stop_wait(pid: int) -> str:
    if stop_wait(pid, timeout=SERVER_TIMEOUT):
        return SERVER_STOPPED.format(pid=pid)
    return SERVER_KILLED.format(pid=pid, seconds=SERVER_TIMEOUT)


def worker_stop() -> str | None:
    """Stop make run's worker, if it still runs (it stops by itself once the server has ended)."""
    try:
        pid = int(WORKER_PIDFILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    WORKER_PIDFILE.unlink(missing_ok=True)
    if not our_worker(pid):
        return None
    timeout = worker_grace() + WORKER_MARGIN
    if stop_wait(pid, timeout=timeout):
        return WORKER_STOPPED.format(pid=pid)
    return WORKER_KILLED.format(pid=pid, seconds=timeout)


def worker_grace() -> float:
    """``WORKER_SHUTDOWN_GRACE_SECONDS`` (its default when the settings cannot be read)."""
    try:
        return float(settings_module().WORKER_SHUTDOWN_GRACE_SECONDS)
    except Exception:
        return 30.0


def settings_module() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    return settings


def embedded_pgdata() -> Path | None:
    """The embedded server's data folder from the settings; None with DB_HOST (not ours to stop)."""
    database: dict[str, Any] = settings_module().DATABASES["default"]
    pgdata = database.get("OPTIONS", {}).get("embedded_pgdata")
    return Path(pgdata) if pgdata else None


def describe(pid: int) -> str:
    try:
        return f"pid {pid} ({' '.join(psutil.Process(pid).cmdline()[:4])})"
    except psutil.Error:
        return f"pid {pid}"


def postgres_stop(pgdata: Path) -> str:
    with server_lock():
        users = users_prune(pgdata) if pgdata.exists() else []
        if server_pid(pgdata) is None:
            return PG_NOT_RUNNING
        if users:
            return PG_IN_USE.format(users=", ".join(describe(pid) for pid in users))
        server_stop(pgdata)
    return PG_STOPPED.format(pgdata=pgdata)


def main() -> int:
    try:
        pid = int(PIDFILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        pid = 0
    if pid and our_server(pid):
        print(server_stop_wait(pid))
    else:
        print(NOTHING_TO_STOP)
    PIDFILE.unlink(missing_ok=True)
    worker = worker_stop()
    if worker:
        print(worker)
    try:
        pgdata = embedded_pgdata()
    except Exception as exc:  # a broken .env: say it in one line, the server is stopped anyway
        print(NO_SETTINGS.format(problem=f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return 1
    if pgdata is not None:
        print(postgres_stop(pgdata))
    return 0


if __name__ == "__main__":
    sys.exit(main())
