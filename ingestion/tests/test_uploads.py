"""Accepting an upload: its name made safe, its options checked, its bytes spooled with their sha256,
a queued run and its job deferred in one transaction; the worker's task ingests it like any source."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from procrastinate.contrib.django.models import ProcrastinateJob

from customers.models import Customer
from ingestion.models import IngestionRun, RunStatus
from ingestion.tasks import ingest_upload
from ingestion.uploads import (
    INGEST_UPLOAD_TASK,
    UploadError,
    UploadOptions,
    UploadTooLarge,
    accept_upload,
    upload_folder,
    upload_name,
)
from testsupport import SAMPLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploads(settings: Any, tmp_path: Path) -> Any:
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    return settings


def _file(name: str = "customers-100.csv", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, SAMPLE.read_bytes() if content is None else content)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("customers.csv", "customers.csv"),
        ("../../etc/cron.d/evil.csv", "evil.csv"),
        ("C:\\partners\\acme\\Jan.CSV", "Jan.csv"),
        ("bad\x00na\x1bme\u202e.json", "badname.json"),
        ("..hidden.csv", "hidden.csv"),
        ("  spaced   out .csv ", "spaced out .csv"),
        ("x" * 300 + ".csv", "x" * 196 + ".csv"),
        ("é" * 300 + ".csv", "é" * 98 + ".csv"),  # 200 bytes: file systems count bytes
        ("a" + "€" * 300 + ".json", "a" + "€" * 64 + ".json"),  # never a character cut in two
    ],
)
def test_an_upload_name_keeps_its_last_part_without_control_characters(given: str, stored: str) -> None:
    assert upload_name(given) == stored


@pytest.mark.parametrize("given", ["", "/", "..", ".csv", "customers.xlsx", "customers", "run.sh", "a.csv/"])
def test_an_upload_name_without_csv_or_json_is_refused(given: str) -> None:
    with pytest.raises(UploadError, match=r"\.csv|name"):
        upload_name(given)


def test_an_accepted_upload_is_a_queued_run_with_its_job_and_bytes(uploads: Any) -> None:
    user = get_user_model().objects.create_user(username="ops", password="a long enough password")
    run = accept_upload(_file(), options=UploadOptions(dry_run=True, reject_above=50.0), user=user)
    data = SAMPLE.read_bytes()
    assert (run.status, run.source, run.filename, run.dry_run, run.requested_by) == (
        RunStatus.QUEUED,
        "upload",
        "customers-100.csv",
        True,
        "ops",
    )
    assert (run.sha256, run.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert run.queued_at is not None
    assert (upload_folder(run.pk) / "customers-100.csv").read_bytes() == data
    job = ProcrastinateJob.objects.get(task_name=INGEST_UPLOAD_TASK)
    assert job.args == {"run_id": run.pk, "warn_above": None, "reject_above": 50.0}
    assert list((Path(uploads.UPLOAD_DIR) / ".incoming").iterdir()) == []


def test_the_queued_job_ingests_the_upload_under_its_run(uploads: Any) -> None:
    run = accept_upload(_file(), options=UploadOptions(), user=None)
    job = ProcrastinateJob.objects.get(task_name=INGEST_UPLOAD_TASK)
    assert ingest_upload(**job.args) == RunStatus.SUCCEEDED
    run.refresh_from_db()
    assert (run.status, run.rows_loaded, run.pid is not None) == (RunStatus.SUCCEEDED, 100, True)
    assert Customer.objects.count() == 100
    assert IngestionRun.objects.count() == 1
    assert not upload_folder(run.pk).exists()  # the spool is cleared once the run ended


def test_the_same_bytes_uploaded_again_are_skipped_naming_the_first_run(uploads: Any) -> None:
    first = accept_upload(_file(), options=UploadOptions(), user=None)
    ingest_upload(run_id=first.pk)
    second = accept_upload(_file("again.csv"), options=UploadOptions(), user=None)
    assert ingest_upload(run_id=second.pk) == RunStatus.SKIPPED
    second.refresh_from_db()
    assert second.status == RunStatus.SKIPPED
    skipped = f"already loaded by run {first.pk} (same sha256); nothing to do"
    assert second.warnings == [skipped]
    assert Customer.objects.count() == 100


@pytest.mark.parametrize("declared", [None, 10])
def test_an_upload_beyond_the_limit_is_refused_and_nothing_is_kept(
    uploads: Any, declared: int | None
) -> None:
    """Counted as it is copied, whatever size the upload declared."""
    uploads.UPLOAD_MAX_BYTES = 100
    upload = _file()
    upload.size = declared
    with pytest.raises(UploadTooLarge, match="UPLOAD_MAX_BYTES"):
        accept_upload(upload, options=UploadOptions(), user=None)
    assert not IngestionRun.objects.exists()
    assert [p for p in Path(uploads.UPLOAD_DIR).rglob("*") if p.is_file()] == []


def test_an_empty_upload_is_refused(uploads: Any) -> None:
    with pytest.raises(UploadError, match="empty"):
        accept_upload(_file("empty.csv", b""), options=UploadOptions(), user=None)
    assert not IngestionRun.objects.exists()


@pytest.mark.parametrize("options", [UploadOptions(reject_above=150.0), UploadOptions(warn_above=-1.0)])
def test_a_threshold_the_ingest_command_refuses_is_refused(uploads: Any, options: UploadOptions) -> None:
    with pytest.raises(UploadError):
        accept_upload(_file(), options=options, user=None)
    assert not IngestionRun.objects.exists()
    assert not ProcrastinateJob.objects.exists()
