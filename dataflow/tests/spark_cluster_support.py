"""A real Spark standalone cluster on 127.0.0.1: one master, one worker, from the pyspark wheel.

The wheel ships ``pyspark/bin/spark-class`` and every jar, so nothing is
downloaded; every port is a free one on 127.0.0.1. Executors are JVMs (and
Python workers) the worker starts on this host, so they reach the embedded
PostgreSQL's Unix socket and the spool under ``INGEST_WORK_DIR``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
REGISTER_TIMEOUT = 90.0
"""Seconds for the master and the worker to start and the worker to register (two JVMs, 2 cores)."""
STOP_TIMEOUT = 30.0
"""Seconds a daemon gets to stop after SIGTERM before SIGKILL."""
LOG_TAIL = 4000
LOOPBACK_ENV = {"SPARK_LOCAL_IP": HOST}
"""For the daemons and for a driver using them: every Spark address on 127.0.0.1, none on the LAN."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SparkCluster:
    """A running standalone cluster: where drivers connect, its web UI, the worker's folders."""

    master_url: str
    """``spark://127.0.0.1:<port>``: the ``SPARK_MASTER`` of a driver."""
    master_ui: str
    """``http://127.0.0.1:<port>``: ``/json/`` there is the master's state."""
    work_dir: Path
    """The worker's ``--work-dir``: one ``app-*`` folder per application it ran executors for."""
    logs: Path
    """``master.log`` and ``worker.log``."""

    def state(self) -> dict[str, Any]:
        """The master's state: workers, active and completed applications."""
        with urllib.request.urlopen(f"{self.master_ui}/json/", timeout=5) as response:  # noqa: S310 (http://127.0.0.1)
            return dict(json.load(response))

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-LOG_TAIL:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


def spark_class() -> Path:
    spec = importlib.util.find_spec("pyspark")
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent / "bin" / "spark-class"


def _daemon(args: list[str], *, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # Its own process group: stopping it also stops the executors the worker started.
        return subprocess.Popen(
            [str(spark_class()), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the daemon's process group, SIGKILL it if it is still there after STOP_TIMEOUT."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
    except ProcessLookupError:
        process.wait(timeout=STOP_TIMEOUT)


def _wait_for_worker(cluster: SparkCluster, daemons: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + REGISTER_TIMEOUT
    while time.monotonic() < deadline:
        if any(d.poll() is not None for d in daemons):
            pytest.fail(f"a Spark daemon exited while starting:\n{cluster.log_tail()}")
        try:
            if cluster.state().get("aliveworkers", 0) >= 1:
                return
        except OSError:  # the master's UI is not listening yet
            pass
        time.sleep(0.5)
    pytest.fail(f"no worker registered with the master in {REGISTER_TIMEOUT:.0f} s:\n{cluster.log_tail()}")


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A master and one worker (1 core, 1 GiB) for the whole pytest run; always stopped."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("requirements-spark.txt is not installed (no pyspark)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java: Spark needs a JVM (java on PATH or JAVA_HOME)")
    root = tmp_path_factory.mktemp("spark-cluster")
    (work_dir := root / "work").mkdir()
    (logs := root / "logs").mkdir()
    port, master_ui_port, worker_ui_port = free_port(), free_port(), free_port()
    cluster = SparkCluster(
        master_url=f"spark://{HOST}:{port}",
        master_ui=f"http://{HOST}:{master_ui_port}",
        work_dir=work_dir,
        logs=logs,
    )
    env = dict(os.environ) | LOOPBACK_ENV | {"SPARK_LOCAL_DIRS": str(root / "local")}
    daemons: list[subprocess.Popen[bytes]] = []
    try:
        master = ["org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(port)]
        daemons.append(
            _daemon([*master, "--webui-port", str(master_ui_port)], log=logs / "master.log", env=env)
        )
        worker = ["org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host", HOST]
        worker += ["--cores", "1", "--memory", "1g", "--work-dir", str(work_dir)]
        daemons.append(
            _daemon([*worker, "--webui-port", str(worker_ui_port)], log=logs / "worker.log", env=env)
        )
        _wait_for_worker(cluster, daemons)
        yield cluster
    finally:
        for daemon in reversed(daemons):  # the worker first: it stops its executors
            _stop(daemon)
