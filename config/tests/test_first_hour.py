"""The first hour, as the README tells it: ``make run``, a second shell, the printed curl, ``make stop``.

On a copy of this checkout (the files a clone would have) in a temporary
folder, with its own ``.env``, ``.data`` and port, and the shared virtualenv
(``test_runtime_requirements`` checks ``requirements.txt`` alone). The
environment is a new shell's: no project setting in it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.embedded_pg.supervisor import pid_alive
from config.tests.processes import ROOT, answers, http_get, postmasters, wait_until
from config.tests.test_local_env import example_values
from testsupport.ingest import HEADER, customer_lines
from testsupport.servers import free_port
from testsupport.uploads import FINAL, http_run, http_upload

CURL = re.compile(r'curl "(?P<url>[^"]+)" -H "Authorization: Token \$\(cat (?P<token_file>[^)]+)\)"')
VENV = Path(sys.executable).parent.parent


def checkout_copy(dest: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(VENV)
    return dest


def new_shell_env(**extra: str) -> dict[str, str]:
    """Like a new terminal: none of the project's settings set (the copy's .env gives them)."""
    names = set(example_values()) | {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "RUN_PORT", "BIN"}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def second_shell(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(copy / ".venv" / "bin" / "python"), "manage.py", *args],
        cwd=copy,
        env=new_shell_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def printed_token(copy: Path, output: str) -> tuple[str, str]:
    """The printed curl's URL and the token it reads from its file (relative to the checkout)."""
    printed = CURL.search(output)
    assert printed is not None, output
    token = (copy / printed["token_file"]).read_text()
    assert token not in output
    return printed["url"], token


def try_the_printed_curl(copy: Path, output: str) -> list[dict[str, object]]:
    url, token = printed_token(copy, output)
    status, body = http_get(url, headers={"Authorization": f"Token {token}"})
    assert status == 200, body
    return list(json.loads(body)["results"])


def upload_is_ingested_by_the_worker(copy: Path, base: str, output: str) -> bool:
    """The printed token (the demo superuser's) uploads a file; make run's worker ingests it."""
    _url, token = printed_token(copy, output)
    data = "\n".join([HEADER, *customer_lines(5, seed=99, start=1000)]).encode() + b"\n"
    status, body, location = http_upload(base, token, name="first-hour.csv", data=data)
    assert (status, body["status"]) == (202, "queued"), body
    assert wait_until(lambda: http_run(base, token, location)["status"] in FINAL, timeout=120)
    run = http_run(base, token, location)
    return (run["status"], run["rows_loaded"]) == ("succeeded", 5)


def make_run_start(copy: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``make run``'s script in ``copy``, in a session of its own, its output into ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=copy,
            env=new_shell_env(RUN_PORT=str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass(frozen=True)
class Serving:
    copy: Path
    base: str
    server: subprocess.Popen[bytes]
    log: Path


@contextmanager
def make_run_serving(tmp_path: Path) -> Iterator[Serving]:
    """``make run`` in a fresh copy, once it answers ``/healthz``; killed and ``make stop``-ped after."""
    copy = checkout_copy(tmp_path / "clone")
    port = free_port()
    log = tmp_path / "make-run.log"
    base = f"http://127.0.0.1:{port}"
    server = make_run_start(copy, port, log)
    try:
        wait_until(lambda: server.poll() is not None or answers(f"{base}/healthz"), timeout=300)
        assert server.poll() is None, log.read_text()
        assert answers(f"{base}/healthz"), log.read_text()
        yield Serving(copy=copy, base=base, server=server, log=log)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        subprocess.run(["make", "--no-print-directory", "stop"], cwd=copy, env=new_shell_env(), timeout=120)


@pytest.mark.slow
def test_make_run_then_a_second_shell_then_make_stop(tmp_path: Path) -> None:
    with make_run_serving(tmp_path) as run:
        output = run.log.read_text()
        assert output.count(f"Wrote {run.copy / '.env'}: local settings") == 1, output

        ingest = second_shell(run.copy, "ingest", "--filename", "customers-100.csv")
        assert ingest.returncode == 0, ingest.stderr
        assert "customers-100.csv: skipped" in ingest.stdout

        assert try_the_printed_curl(run.copy, output), "the printed curl returned no customer"
        assert http_get(f"{run.base}/")[0] == 200  # redirected to the API docs
        worker = int((run.copy / ".data" / "worker.pid").read_text())
        assert upload_is_ingested_by_the_worker(run.copy, run.base, output), run.log.read_text()

        stop = subprocess.run(
            ["make", "--no-print-directory", "stop"],
            cwd=run.copy,
            env=new_shell_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert f"Stopped the server (pid {run.server.pid})." in stop.stdout
        run.server.wait(timeout=30)
        assert not pid_alive(worker), stop.stdout  # make run's worker stopped too
        assert wait_until(lambda: not postmasters(run.copy / ".data" / "postgres"), timeout=30), stop.stdout


@pytest.mark.slow
def test_kill_term_of_make_run_stops_its_worker(tmp_path: Path) -> None:
    with make_run_serving(tmp_path) as run:
        worker = int((run.copy / ".data" / "worker.pid").read_text())
        assert pid_alive(worker), run.log.read_text()
        os.kill(run.server.pid, signal.SIGTERM)  # the PID make run printed: the server's, after exec
        run.server.wait(timeout=60)
        assert wait_until(lambda: not pid_alive(worker), timeout=60), run.log.read_text()
        # A graceful stop (maybe before it started), not a kill.
        assert "Worker stopped" in run.log.read_text()
