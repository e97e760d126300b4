"""``manage.py ingest --source sftp|s3`` end to end: real SFTP/S3 servers, real PostgreSQL, real alerts."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.management import CommandError, call_command

from alerts.models import AlertRecord
from customers.models import Customer
from dataflow.sources.sftp import AUTH_FAILED, HOST_KEY_UNKNOWN
from ingestion.models import IngestionRun
from ingestion.source_audit import LIST_FAILED, LISTING_NAME
from testsupport.fixtures import SAMPLE_CSV
from testsupport.servers import HOST, HttpRecorder, SftpServer, free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_retries")]


@pytest.fixture
def ingest_settings(settings: Any, tmp_path: Path, http_recorder: HttpRecorder) -> Any:
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.LAKE_ENABLED = False
    settings.SOURCE_PATTERN = "*.csv"
    settings.SLACK_WEBHOOK_URL = f"{http_recorder.url}/hook"
    settings.ADMIN_BASE_URL = "http://admin.test"
    return settings


@pytest.fixture
def sftp_settings(ingest_settings: Any, sftp_server: SftpServer, sftp_known_hosts: Path) -> Any:
    ingest_settings.SFTP_HOST = HOST
    ingest_settings.SFTP_PORT = sftp_server.port
    ingest_settings.SFTP_USERNAME = sftp_server.username
    ingest_settings.SFTP_PASSWORD = sftp_server.password
    ingest_settings.SFTP_REMOTE_DIR = "inbox"
    ingest_settings.SFTP_KNOWN_HOSTS = str(sftp_known_hosts)
    return ingest_settings


def ingest(*args: str) -> str:
    out = io.StringIO()
    call_command("ingest", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def slack_texts(recorder: HttpRecorder, count: int) -> list[str]:
    return [r.json()["text"] for r in recorder.wait_for(count)]


# --- SFTP -----------------------------------------------------------------------------


def test_sftp_filename_downloads_and_loads_the_file(sftp_settings: Any, sftp_server: SftpServer) -> None:
    output = ingest("--source", "sftp", "--filename", SAMPLE_CSV.name)

    run = IngestionRun.objects.get()
    assert (run.source, run.filename, run.status, run.rows_loaded) == (
        "sftp",
        SAMPLE_CSV.name,
        "succeeded",
        100,
    )
    assert Customer.objects.count() == 100
    assert output.startswith(f"{SAMPLE_CSV.name}: succeeded (run {run.pk})")
    assert sftp_server.state.logins  # it really went through the server


def test_sftp_all_twice_loads_the_new_files_once(
    sftp_settings: Any, sftp_root: Path, http_recorder: HttpRecorder
) -> None:
    (sftp_root / "inbox" / "notes.txt").write_text("not matched by SOURCE_PATTERN")

    ingest("--source", "sftp", "--all")
    second = ingest("--source", "sftp", "--all")

    assert list(IngestionRun.objects.values_list("filename", "status")) == [(SAMPLE_CSV.name, "succeeded")]
    assert Customer.objects.count() == 100
    assert second.strip() == "no new files in the source"
    assert http_recorder.requests == []


def test_sftp_after_success_move_takes_the_file_out_of_the_inbox(sftp_settings: Any, sftp_root: Path) -> None:
    sftp_settings.SOURCE_AFTER_SUCCESS = "move"

    ingest("--source", "sftp", "--all")

    assert os.listdir(sftp_root / "inbox" / "processed") == [SAMPLE_CSV.name]
    assert not (sftp_root / "inbox" / SAMPLE_CSV.name).exists()


def test_sftp_wrong_password_fails_at_once_with_a_failed_run_and_one_alert(
    sftp_settings: Any, sftp_server: SftpServer, http_recorder: HttpRecorder
) -> None:
    sftp_settings.SFTP_PASSWORD = "wrong-password"
    target = f"sftp://{sftp_server.username}@{HOST}:{sftp_server.port}/inbox"

    with pytest.raises(CommandError, match="authentication failed"):
        ingest("--source", "sftp", "--filename", SAMPLE_CSV.name)

    run = IngestionRun.objects.get()
    assert run.status == "failed"
    assert AUTH_FAILED.format(target=target, username=sftp_server.username) in run.error_message
    assert sftp_server.state.failed_logins == 1
    [text] = slack_texts(http_recorder, 1)
    assert f"run {run.pk}" in text
    assert "authentication failed" in text
    assert "wrong-password" not in run.error_message + run.error_trace + text


def test_sftp_unknown_host_key_is_refused_with_a_failed_run_and_an_alert(
    sftp_settings: Any, sftp_server: SftpServer, tmp_path: Path, http_recorder: HttpRecorder
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    sftp_settings.SFTP_KNOWN_HOSTS = str(empty)
    target = f"sftp://{sftp_server.username}@{HOST}:{sftp_server.port}/inbox"

    with pytest.raises(CommandError, match="not trusted"):
        ingest("--source", "sftp", "--filename", SAMPLE_CSV.name)

    run = IngestionRun.objects.get()
    assert run.status == "failed"
    expected = HOST_KEY_UNKNOWN.format(
        target=target, fingerprint=sftp_server.fingerprint, key_type="ssh-ed25519"
    )
    assert expected in run.error_message
    assert sftp_server.state.logins == []
    assert sftp_server.state.failed_logins == 0
    assert len(slack_texts(http_recorder, 1)) == 1


def test_sftp_server_down_is_retried_then_recorded_as_failed_and_alerted(
    sftp_settings: Any, http_recorder: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    sftp_settings.SFTP_PORT = free_port()

    with pytest.raises(CommandError, match="failed after 3 attempts"):
        ingest("--source", "sftp", "--filename", SAMPLE_CSV.name)

    run = IngestionRun.objects.get()
    assert run.status == "failed"
    assert "download customers-100.csv failed after 3 attempts" in run.error_message
    delays = [
        r.msg["delay"]
        for r in caplog.records
        if isinstance(r.msg, dict) and r.msg["event"] == "retry.attempt_failed"
    ]
    assert len(delays) == 2
    assert delays == sorted(delays)
    [text] = slack_texts(http_recorder, 1)
    assert "*ETL fetch failed*" in text
    assert list(AlertRecord.objects.values_list("run_id", "cause")) == [(run.pk, "fetch_failed")]


def test_sftp_all_with_server_down_records_the_listing_failure_and_alerts(
    sftp_settings: Any, http_recorder: HttpRecorder
) -> None:
    sftp_settings.SFTP_PORT = free_port()

    with pytest.raises(CommandError, match="list failed after 3 attempts"):
        ingest("--source", "sftp", "--all")

    run = IngestionRun.objects.get()
    assert (run.filename, run.status) == (LISTING_NAME, "failed")
    assert run.error_message.startswith(LIST_FAILED.format(source="sftp", problem=""))
    assert len(slack_texts(http_recorder, 1)) == 1


# paramiko's read-ahead thread dies with the cut connection (after our retry has begun).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_sftp_connection_dropped_mid_transfer_loads_the_file_once_and_intact(
    sftp_settings: Any, sftp_server: SftpServer
) -> None:
    sftp_server.drop_next_transfers(after_bytes=4096, times=1)

    ingest("--source", "sftp", "--filename", SAMPLE_CSV.name)

    assert sftp_server.state.drops_done == 1
    run = IngestionRun.objects.get()
    assert (run.status, run.rows_loaded, run.size) == ("succeeded", 100, SAMPLE_CSV.stat().st_size)
    assert run.sha256 == __import__("hashlib").sha256(SAMPLE_CSV.read_bytes()).hexdigest()
    assert Customer.objects.count() == 100


# --- S3 -------------------------------------------------------------------------------


@pytest.fixture
def s3_settings(
    ingest_settings: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Any:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"drops-{tmp_path.name[-20:].lower().replace('_', '-')}".rstrip("-")
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=f"acme/{SAMPLE_CSV.name}", Body=SAMPLE_CSV.read_bytes())
    ingest_settings.S3_BUCKET = bucket
    ingest_settings.S3_PREFIX = "acme/"
    ingest_settings.S3_ENDPOINT_URL = moto_endpoint
    return ingest_settings


def test_s3_filename_downloads_and_loads_the_object(s3_settings: Any) -> None:
    ingest("--source", "s3", "--filename", SAMPLE_CSV.name)

    run = IngestionRun.objects.get()
    assert (run.source, run.status, run.rows_loaded) == ("s3", "succeeded", 100)
    assert Customer.objects.count() == 100


def test_s3_all_twice_loads_the_new_objects_once(s3_settings: Any) -> None:
    ingest("--source", "s3", "--all")
    second = ingest("--source", "s3", "--all")

    assert list(IngestionRun.objects.values_list("source", "status")) == [("s3", "succeeded")]
    assert second.strip() == "no new files in the source"


def test_s3_after_success_delete_removes_the_object(s3_settings: Any, moto_endpoint: str) -> None:
    s3_settings.SOURCE_AFTER_SUCCESS = "delete"

    ingest("--source", "s3", "--all")

    listing = boto3.client("s3", endpoint_url=moto_endpoint).list_objects_v2(Bucket=s3_settings.S3_BUCKET)
    assert listing.get("Contents", []) == []


# --- database -------------------------------------------------------------------------


def test_unreachable_database_is_retried_before_the_command_gives_up(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DEBUG": "true",
        "LOG_LEVEL": "warning",
        "DB_HOST": HOST,
        "DB_PORT": str(free_port()),
        "DB_CONNECT_TIMEOUT": "2",
        "RETRY_ATTEMPTS": "3",
        "RETRY_BASE_DELAY": "0.01",
        "INGEST_WORK_DIR": str(tmp_path / "work"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest", "--source", "local", "--filename", SAMPLE_CSV.name],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    lines = result.stderr.strip().splitlines()
    assert result.returncode == 4, result.stderr
    retries = [line for line in lines if "retry.attempt_failed" in line]
    assert len(retries) == 2, result.stderr
    assert all("operation=db.connect" in line for line in retries)
    assert lines[-1].startswith("CommandError: database unreachable: ")
