"""Real gunicorn servers on 127.0.0.1 for tests that need several processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(
    base_url: str, process: subprocess.Popen[bytes], timeout: float = 60, *, ready: int = 200
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read() if process.stderr else b""
            raise RuntimeError(f"server exited with {process.returncode}: {error!r}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=5) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:  # a 503 answer is still an answer
            status = exc.code
        except OSError:  # refused, reset or timed out while booting
            status = 0
        if status == ready:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} did not become healthy within {timeout}s")


@contextlib.contextmanager
def gunicorn(
    *,
    env: dict[str, str],
    workers: int = 1,
    port: int | None = None,
    ready: int = 200,
    stderr: Path | None = None,
) -> Iterator[str]:
    """Serve this project from the test database; yields the base URL, stops the server after.

    ``ready``: the ``/healthz`` status that means started (503 for a server without its
    database). ``stderr``: a file that receives the server's standard error.
    """
    port = port or free_port()
    full_env = {
        **os.environ,
        "DEBUG": "true",
        "DB_NAME": str(connection.settings_dict["NAME"]),
        "LOG_LEVEL": "warning",
        **env,
    }
    err = stderr.open("wb") if stderr is not None else None
    process = subprocess.Popen(
        [str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=err or subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, ready=ready)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if err is not None:
            err.close()
