"""``requirements.txt`` alone runs the project: a clean venv with only the runtime requirements.

``make run`` installs nothing else, so a runtime module importing a package
that only the dev or Spark requirements bring (numpy, once) must fail here,
not on a newcomer's machine. The wheels are built once per content of
``requirements.txt`` under ``.data/wheelhouse`` (pip's own cache and index
feed it); the venv itself is new every time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements.txt"
WHEELHOUSES = ROOT / ".data" / "wheelhouse"
INSTALL_TIMEOUT = 900


def _wheelhouse() -> Path:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    folder = WHEELHOUSES / digest
    done = folder / ".complete"
    if not done.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "-r", str(REQUIREMENTS), "-w", str(folder)],
            check=True,
            timeout=INSTALL_TIMEOUT,
        )
        done.touch()
    return folder


def _shell_umask() -> None:
    """A newcomer's shell installs with umask 022; this process has FILE_UMASK's 077, and as root
    the embedded server runs as its own user, who could not read a wheel installed under 077."""
    os.umask(0o022)


def _runtime_venv(where: Path) -> Path:
    """A new venv holding requirements.txt and nothing else (no pip either)."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(where)],
        check=True,
        timeout=120,
        preexec_fn=_shell_umask,  # no thread runs in the child before exec
    )
    python = where / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile"]
    wheels = ["--no-index", "--find-links", str(_wheelhouse()), "-r", str(REQUIREMENTS)]
    subprocess.run([*pip, *wheels], check=True, timeout=INSTALL_TIMEOUT, preexec_fn=_shell_umask)
    return python


def _runtime_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env.update(
        DEBUG="true",
        DATA_DIR=str(data),
        DB_HOST="",
        EMBEDDED_PG_DATA="",
        DB_NAME="customers",
        REDIS_URL="",
        LAKE_ENABLED="true",  # the lake is on by default: its imports are on the runtime path
        LAKE_URI="",
        INGEST_SOURCE="local",
        INGEST_LOCAL_DIR="",
        INGEST_WORK_DIR="",
        LOG_LEVEL="warning",
    )
    return env


def _manage(python: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_runtime_requirements_alone_run_check_migrate_and_the_sample_ingest(tmp_path: Path) -> None:
    python = _runtime_venv(tmp_path / "venv")
    probe = subprocess.run(
        [str(python), "-c", "import pytest"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert probe.returncode != 0, "the runtime venv is not clean: it can import pytest"
    env = _runtime_env(tmp_path / "data")
    for args in (("check",), ("migrate", "--noinput"), ("ingest", "--filename", "customers-100.csv")):
        done = _manage(python, env, *args)
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    assert "customers-100.csv: succeeded" in done.stdout
    wsgi = subprocess.run(
        [str(python), "-c", "import config.wsgi, gunicorn.app.wsgiapp"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wsgi.returncode == 0, wsgi.stderr
