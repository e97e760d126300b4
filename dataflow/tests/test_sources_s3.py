"""S3 source against moto's S3 server on 127.0.0.1 (a real HTTP server, real boto3 calls)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from dataflow.sources.base import AuthenticationError, FetchError, SourceError
from dataflow.sources.remote import RETRIES_EXHAUSTED
from dataflow.sources.s3 import (
    S3_AUTH_FAILED,
    S3_NO_CREDENTIALS,
    S3_NO_SUCH_BUCKET,
    S3_NOT_FOUND,
    S3Config,
    S3Source,
)
from testsupport.fixtures import SAMPLE_CSV
from testsupport.servers import HOST, CuttingProxy, free_port

pytestmark = pytest.mark.usefixtures("fast_retries", "aws_credentials")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    """A fresh bucket with ``drops/customers-100.csv``."""
    name = f"partner-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key=f"drops/{SAMPLE_CSV.name}", Body=SAMPLE_CSV.read_bytes())
    return name


def s3(moto_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_endpoint)


def keys(moto_endpoint: str, bucket: str) -> list[str]:
    listing = s3(moto_endpoint).list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def config_for(endpoint: str, bucket: str, **changes: Any) -> S3Config:
    return dataclasses.replace(
        S3Config(bucket=bucket, prefix="drops", endpoint_url=endpoint, pattern="*.csv,*.json"), **changes
    )


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == name]


def test_lists_only_matching_files_directly_under_the_prefix(moto_endpoint: str, bucket: str) -> None:
    client = s3(moto_endpoint)
    for key in ["drops/notes.txt", "drops/.partial.csv", "drops/processed/old.csv", "elsewhere/other.csv"]:
        client.put_object(Bucket=bucket, Key=key, Body=b"a,b\n")

    files = S3Source(config_for(moto_endpoint, bucket)).list_files()

    assert [(f.name, f.size) for f in files] == [(SAMPLE_CSV.name, SAMPLE_CSV.stat().st_size)]
    assert files[0].modified is not None


def test_downloads_an_object_byte_for_byte(moto_endpoint: str, bucket: str, tmp_path: Path) -> None:
    path = S3Source(config_for(moto_endpoint, bucket)).fetch(SAMPLE_CSV.name, tmp_path / "work")

    assert path == tmp_path / "work" / SAMPLE_CSV.name
    assert path.read_bytes() == SAMPLE_CSV.read_bytes()
    assert os.listdir(tmp_path / "work") == [SAMPLE_CSV.name]


def test_missing_object_fails_without_retries(
    moto_endpoint: str, bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = S3Source(config_for(moto_endpoint, bucket))

    with pytest.raises(FetchError) as excinfo:
        source.fetch("absent.csv", tmp_path)

    assert str(excinfo.value) == S3_NOT_FOUND.format(target=source.target, name="absent.csv")
    assert events(caplog, "retry.attempt_failed") == []


def test_missing_bucket_is_a_source_error(moto_endpoint: str) -> None:
    source = S3Source(config_for(moto_endpoint, "no-such-bucket-here"))

    with pytest.raises(SourceError) as excinfo:
        source.list_files()

    assert str(excinfo.value) == S3_NO_SUCH_BUCKET.format(target=source.target, bucket="no-such-bucket-here")


def test_missing_credentials_fail_at_once(
    moto_endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    source = S3Source(config_for(moto_endpoint, bucket))

    with pytest.raises(AuthenticationError) as excinfo:
        source.list_files()

    assert str(excinfo.value) == S3_NO_CREDENTIALS.format(target=source.target)
    assert events(caplog, "retry.attempt_failed") == []


def test_endpoint_not_listening_is_retried_with_growing_delays_then_fails(
    caplog: pytest.LogCaptureFixture, bucket: str
) -> None:
    source = S3Source(config_for(f"http://{HOST}:{free_port()}", bucket))

    with pytest.raises(FetchError) as excinfo:
        source.list_files()

    assert str(excinfo.value).startswith(
        RETRIES_EXHAUSTED.format(target=source.target, operation="list", attempts=3, error="")
    )
    delays = [e["delay"] for e in events(caplog, "retry.attempt_failed")]
    assert len(delays) == 2
    assert delays == sorted(delays)


def test_connection_dropped_mid_download_is_retried_and_the_file_is_intact(
    moto_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    s3(moto_endpoint).put_object(Bucket=bucket, Key="drops/big.csv", Body=payload)
    host, port = moto_endpoint.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port))).start()
    try:
        proxy.cut_next(match=f"GET /{bucket}/drops/big.csv".encode(), after_bytes=512 * 1024)
        source = S3Source(config_for(f"http://{HOST}:{proxy.port}", bucket))

        path = source.fetch("big.csv", tmp_path / "work")
    finally:
        proxy.stop()

    assert proxy.cuts_done == 1
    assert path.read_bytes() == payload
    assert os.listdir(tmp_path / "work") == ["big.csv"]


def test_download_cut_on_every_attempt_leaves_no_file(
    moto_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    s3(moto_endpoint).put_object(Bucket=bucket, Key="drops/big.csv", Body=os.urandom(2 * 1024 * 1024))
    host, port = moto_endpoint.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port))).start()
    try:
        proxy.cut_next(match=f"GET /{bucket}/drops/big.csv".encode(), after_bytes=256 * 1024, times=10)
        source = S3Source(config_for(f"http://{HOST}:{proxy.port}", bucket))

        with pytest.raises(FetchError, match=r"download big\.csv failed after 3 attempts"):
            source.fetch("big.csv", tmp_path / "work")
    finally:
        proxy.stop()

    assert proxy.cuts_done == 3
    assert os.listdir(tmp_path / "work") == []


def test_after_success_move_puts_the_object_under_processed(moto_endpoint: str, bucket: str) -> None:
    source = S3Source(config_for(moto_endpoint, bucket, after_success="move"))

    source.after_success(SAMPLE_CSV.name)

    assert keys(moto_endpoint, bucket) == [f"drops/processed/{SAMPLE_CSV.name}"]
    assert source.list_files() == []


def test_after_success_delete_removes_the_object(moto_endpoint: str, bucket: str) -> None:
    S3Source(config_for(moto_endpoint, bucket, after_success="delete")).after_success(SAMPLE_CSV.name)

    assert keys(moto_endpoint, bucket) == []


def test_after_success_leave_keeps_the_object(moto_endpoint: str, bucket: str) -> None:
    S3Source(config_for(moto_endpoint, bucket, after_success="leave")).after_success(SAMPLE_CSV.name)

    assert keys(moto_endpoint, bucket) == [f"drops/{SAMPLE_CSV.name}"]


def test_unknown_access_key_is_refused_at_once(
    moto_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    from moto.core.authorization import enable_iam_authentication

    source = S3Source(config_for(moto_endpoint, bucket))

    # The server now checks every request against its IAM users: ours is unknown.
    with enable_iam_authentication(), pytest.raises(AuthenticationError) as excinfo:
        source.list_files()

    assert str(excinfo.value) == S3_AUTH_FAILED.format(target=source.target, code="InvalidAccessKeyId")
    assert events(caplog, "retry.attempt_failed") == []
