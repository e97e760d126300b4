"""The embedded server is shared by processes, reused, and stopped by its last user."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import psutil
import pytest

from config.embedded_pg import INCLUDE_LINE, SETTINGS_FILE, write_settings
from config.tests.processes import postmasters, project_env, server_start, users_of, wait_until

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


@pytest.fixture(scope="module")
def pgdata(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the module (initdb once); each test starts and stops its server."""
    return tmp_path_factory.mktemp("signals") / "pg"


def _server_gone(pgdata: Path) -> bool:
    return wait_until(lambda: not postmasters(pgdata), timeout=30)


@pytest.mark.slow
def test_a_killed_user_among_others_is_forgotten_when_the_last_live_one_exits(pgdata: Path) -> None:
    survivor, server_pid = _start_holder(pgdata)
    killed, pid_again = _start_holder(pgdata)
    assert pid_again == server_pid
    killed.kill()
    killed.wait(timeout=30)
    _release(survivor)
    assert _server_gone(pgdata), "a SIGKILLed user's slot kept the server running"
    assert users_of(pgdata) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_the_last_user_ended_by_a_signal_stops_the_server(pgdata: Path, signum: int) -> None:
    holder, server_pid = _start_holder(pgdata)
    holder.send_signal(signum)
    holder.wait(timeout=30)
    assert _server_gone(pgdata), f"PostgreSQL {server_pid} outlived its only user ({signum!r})"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_runserver_ended_by_a_signal_leaves_no_postgresql(pgdata: Path, tmp_path: Path, signum: int) -> None:
    server, _base = server_start("runserver", pgdata, tmp_path / "runserver.log")
    try:
        assert server.pid in users_of(pgdata)
        server.send_signal(signum)
        server.wait(timeout=30)
    finally:
        server.kill()
    assert _server_gone(pgdata), f"runserver ended by {signum!r} left PostgreSQL running"
    assert users_of(pgdata) == []


@pytest.mark.slow
def test_gunicorn_stopped_by_sigterm_leaves_no_postgresql(pgdata: Path, tmp_path: Path) -> None:
    server, _base = server_start("gunicorn", pgdata, tmp_path / "gunicorn.log")
    try:
        assert postmasters(pgdata), "the worker did not start the server"
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    finally:
        server.kill()
    assert _server_gone(pgdata), "gunicorn stopped by SIGTERM left PostgreSQL running"


def test_db_host_setting_selects_the_plain_backend(settings: object) -> None:
    from django.conf import settings as django_settings

    engine = django_settings.DATABASES["default"]["ENGINE"]
    if django_settings.DB_HOST:
        assert engine == "django.db.backends.postgresql"
    else:
        assert engine == "config.embedded_pg"


SELECT_DATA_DIRECTORY = "select 1, current_setting('data_directory')"


@pytest.mark.slow
def test_dbshell_runs_sql_on_the_embedded_server(pgdata: Path) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "dbshell", "--", "-At", "-c", SELECT_DATA_DIRECTORY],
        cwd=ROOT,
        env=project_env(pgdata),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"1|{pgdata}"
    assert _server_gone(pgdata), "dbshell left its server running"


def test_a_folder_with_other_files_is_refused_before_initdb_touches_it(tmp_path: Path) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from config.embedded_pg import NOT_A_DATA_FOLDER, ensure_server

    (tmp_path / "README.md").write_text("a project, not a data folder")
    owner = tmp_path.stat().st_uid
    with pytest.raises(ImproperlyConfigured) as error:
        ensure_server(tmp_path)
    assert str(error.value) == NOT_A_DATA_FOLDER.format(path=tmp_path.resolve())
    assert tmp_path.stat().st_uid == owner
    assert not (tmp_path / "PG_VERSION").exists()


SHOW_SETTINGS = """
import json, sys
import psycopg
from config.embedded_pg import ensure_server
server = ensure_server(sys.argv[1], json.loads(sys.argv[2]))
with psycopg.connect(host=server.socket_dir, port=server.port, user=server.user, dbname="postgres") as conn:
    shown = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in json.loads(sys.argv[2])}
print(json.dumps(shown), flush=True)
"""


def _shown_settings(pgdata: Path, server_settings: dict[str, str]) -> dict[str, str]:
    """The values a server started for ``server_settings`` runs with (it stops when the process exits)."""
    out = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS, str(pgdata), json.dumps(server_settings)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    shown: dict[str, str] = json.loads(out.stdout)
    return shown


@pytest.mark.slow
def test_a_new_data_folder_starts_with_the_configured_server_settings(tmp_path: Path) -> None:
    wanted = {"shared_buffers": "160MB", "max_wal_size": "3GB", "checkpoint_timeout": "15min"}
    assert _shown_settings(tmp_path / "pg", wanted) == wanted


@pytest.mark.slow
def test_an_existing_data_folder_restarted_takes_the_changed_settings(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    assert _shown_settings(pgdata, {"shared_buffers": "144MB"}) == {"shared_buffers": "144MB"}
    assert _wait_gone_folder(pgdata)
    assert _shown_settings(pgdata, {"shared_buffers": "176MB"}) == {"shared_buffers": "176MB"}
    conf = (pgdata / "postgresql.conf").read_text()
    assert conf.count(INCLUDE_LINE) == 1, "the include was appended again on the second start"


def _wait_gone_folder(pgdata: Path) -> bool:
    return wait_until(lambda: not postmasters(pgdata), timeout=30)


def test_a_setting_value_that_could_escape_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "postgresql.conf").write_text("")
    with pytest.raises(ValueError, match="not a server setting"):
        write_settings(tmp_path, {"shared_buffers": "1GB'\nlisten_addresses = '*"})
    assert not (tmp_path / SETTINGS_FILE).exists()


@pytest.mark.django_db
def test_the_project_server_runs_with_the_configured_settings() -> None:
    from django.conf import settings as django_settings
    from django.db import connection

    if django_settings.DB_HOST:
        pytest.skip("DB_HOST: a server the project does not configure")
    options = cast("dict[str, Any]", django_settings.DATABASES["default"]["OPTIONS"])
    wanted: dict[str, str] = options["embedded_settings"]
    shown = {}
    with connection.cursor() as cursor:
        for name in wanted:
            cursor.execute(f"SHOW {name}")
            shown[name] = cursor.fetchone()[0]
    assert {k: _size(v) for k, v in shown.items()} == {k: _size(v) for k, v in wanted.items()}, (
        "a server started before the settings changed keeps its values: stop its users to restart it"
    )


def _size(value: str) -> str | int:
    """A size in bytes (PostgreSQL shows 1024MB as 1GB); anything else as it is."""
    match = re.fullmatch(r"(\d+)(kB|MB|GB|TB)", value)
    if not match:
        return value
    return int(match[1]) * 1024 ** (1 + ["kB", "MB", "GB", "TB"].index(match[2]))
