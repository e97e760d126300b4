"""The embedded server is shared by processes, reused, and stopped by its last user."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from config.embedded_pg import ensure_server
server = ensure_server(sys.argv[1])
print(server.pid, flush=True)
sys.stdin.readline()  # hold the server until the test says so
"""


def _start_holder(pgdata: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(pgdata)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"holder failed to start the server (exit {proc.poll()})"
    return proc, int(line)


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(timeout=60)


def _wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_second_process_reuses_the_running_server_and_last_one_stops_it(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    first, first_pid = _start_holder(pgdata)
    try:
        second, second_pid = _start_holder(pgdata)
        assert second_pid == first_pid, "the second process started its own server"
        _release(second)
        assert psutil.pid_exists(first_pid), "server stopped while another process still used it"
    finally:
        _release(first)
    assert _wait_gone(first_pid), "the last user did not stop the server (leaked)"


@pytest.mark.slow
def test_a_killed_user_does_not_keep_the_server_alive_forever(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    killed, server_pid = _start_holder(pgdata)
    killed.kill()
    killed.wait(timeout=30)
    survivor, pid_again = _start_holder(pgdata)
    assert pid_again == server_pid
    _release(survivor)
    assert _wait_gone(server_pid), "a SIGKILLed user's slot kept the server running"


def test_db_host_setting_selects_the_plain_backend(settings: object) -> None:
    from django.conf import settings as django_settings

    engine = django_settings.DATABASES["default"]["ENGINE"]
    if django_settings.DB_HOST:
        assert engine == "django.db.backends.postgresql"
    else:
        assert engine == "config.embedded_pg"
