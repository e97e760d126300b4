"""Real child processes for the tests: ``manage.py`` commands and servers on their own embedded PostgreSQL.

Every wait is bounded; every process a helper starts is ended by the test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

from config.embedded_pg.supervisor import HANDLES, pid_alive
from testsupport.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_until(check: Callable[[], bool], *, timeout: float = 60.0, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def postmasters(pgdata: Path) -> list[int]:
    """PIDs of the PostgreSQL servers running on ``pgdata`` (their command line names it)."""
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(pgdata) in cmdline and pid_alive(proc.pid):
            found.append(proc.pid)
    return found


def users_of(pgdata: Path) -> list[int]:
    try:
        return [int(pid) for pid in json.loads((pgdata / HANDLES).read_text())]
    except (FileNotFoundError, json.JSONDecodeError):
        return []


def project_env(pgdata: Path, **extra: str) -> dict[str, str]:
    """A child's environment: DEBUG on, its own embedded server on ``pgdata`` (not the parent's database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "EMBEDDED_PG", "REDIS_URL"))}
    env.update(
        DEBUG="true",
        DB_HOST="",  # over a DB_HOST in the project's .env too: the embedded server
        EMBEDDED_PG_DATA=str(pgdata),
        DB_NAME="children",
        LOG_LEVEL="warning",
        LAKE_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def http_get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (the test's own server)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def answers(url: str, *, statuses: tuple[int, ...] = (200,)) -> bool:
    try:
        return http_get(url, timeout=2)[0] in statuses
    except OSError:
        return False


def _hangup_default() -> None:
    """SIGHUP's default action (ends the process), as from a terminal: a test run started under
    ``nohup`` would otherwise hand its servers an ignored SIGHUP."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def server_start(kind: str, pgdata: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``runserver --noreload`` or ``gunicorn`` on a free port, serving once ``/healthz`` answers: 503
    on this never-migrated database, but only after its ``SELECT 1`` (the database is started)."""
    port = free_port()
    if kind == "runserver":
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    else:
        command = [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=project_env(pgdata),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_hangup_default,  # only signal.signal: safe between fork and exec
        )
    base = f"http://127.0.0.1:{port}"
    health = f"{base}/healthz"
    if not wait_until(lambda: proc.poll() is not None or answers(health, statuses=(200, 503)), timeout=90):
        proc.kill()
        raise AssertionError(f"{kind} did not answer /healthz:\n{log.read_text()}")
    assert proc.poll() is None, f"{kind} exited {proc.returncode}:\n{log.read_text()}"
    return proc, base
