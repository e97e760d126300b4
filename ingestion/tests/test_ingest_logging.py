"""What ``manage.py ingest`` prints when things fail: one line on the terminal, no secret anywhere.

Real child processes (the output path is the point), known secret values, and
everything they wrote read back: standard output, standard error and the JSON
log file (``LOG_FILE``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from testsupport.ingest import SAMPLE, child_env
from testsupport.servers import HOST

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SFTP_PASSWORD = "Sftp-Pa55word-Known-To-The-Test"
AWS_SECRET = "AwsSecretKnownToTheTest/0123456789abcdefXYZ"
AWS_KEY_ID = "AKIAKNOWNTOTHETEST01"


def _ingest(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log_file = Path(env["LOG_FILE"])
    return result, log_file.read_text() if log_file.exists() else ""


@contextlib.contextmanager
def not_an_ssh_server() -> Iterator[int]:
    """A TCP port that answers like a web server: paramiko fails reading the SSH banner."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def test_sftp_failure_prints_one_line_and_keeps_the_traceback_in_the_log_file(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    with not_an_ssh_server() as port:
        env = child_env(tmp_path) | {
            "LOG_LEVEL": "info",
            "LOG_FILE": str(tmp_path / "app.jsonl"),
            "SFTP_HOST": HOST,
            "SFTP_PORT": str(port),
            "SFTP_USERNAME": "partner",
            "SFTP_PASSWORD": SFTP_PASSWORD,
            "SFTP_KNOWN_HOSTS": str(known_hosts),
            "RETRY_ATTEMPTS": "1",
        }
        result, logged = _ingest(env, "--source", "sftp", "--filename", "customers-100.csv")
    assert result.returncode == 4
    # The alert service's own line is issue #13's (printed only when a channel sent).
    lines = [line for line in result.stderr.splitlines() if "alert.sent" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: customers-100.csv: fetch failed: sftp://partner@")
    assert "Traceback" in logged  # paramiko's, for whoever debugs the connection
    for text in (result.stdout, result.stderr, logged):
        assert SFTP_PASSWORD not in text


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    """A bucket holding the sample in ``drop/``, and room for a lake under ``lake/``."""
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id=AWS_KEY_ID,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    client.upload_file(str(SAMPLE), bucket, f"drop/{SAMPLE.name}")
    return bucket


@pytest.mark.parametrize("log_format", ["console", "json"])
@pytest.mark.parametrize("lake_bucket", ["same", "missing"])
def test_ingest_from_s3_at_debug_level_with_an_s3_lake_logs_no_aws_secret(
    tmp_path: Path, moto_endpoint: str, s3_bucket: str, log_format: str, lake_bucket: str
) -> None:
    """A lake on S3 that works, and one whose bucket is missing (the run fails: its trace is logged)."""
    lake = s3_bucket if lake_bucket == "same" else f"missing-{uuid.uuid4().hex[:8]}"
    env = child_env(tmp_path) | {
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": log_format,
        "LOG_FILE": str(tmp_path / "app.jsonl"),
        "LAKE_ENABLED": "true",
        "LAKE_URI": f"s3://{lake}/lake",
        "S3_BUCKET": s3_bucket,
        "S3_PREFIX": "drop/",
        "LAKE_CATALOG_NAME": f"t{uuid.uuid4().hex[:12]}",
        "S3_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result, logged = _ingest(env, "--source", "s3", "--filename", SAMPLE.name)
    assert result.returncode == (0 if lake_bucket == "same" else 4), result.stderr[-2000:]
    assert "s3.fetched" in result.stderr + logged  # debug logging did run
    for text in (result.stdout, result.stderr, logged):
        assert AWS_SECRET not in text
        assert json.dumps(AWS_SECRET)[1:-1] not in text
