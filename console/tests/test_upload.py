"""The admin's upload form: the API's options, a queued run, then its report page; who may use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from ingestion.models import IngestionRun, RunStatus
from ingestion.tasks import ingest_upload
from testsupport import CASES

pytestmark = pytest.mark.django_db
UPLOAD = "console:upload"
EVERY_RULE = CASES / "quality" / "every_rule.csv"


@pytest.fixture
def uploader(viewer: Client, settings: Any, tmp_path: Path) -> Client:
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    staff = get_user_model().objects.get(username="viewer")
    staff.user_permissions.add(Permission.objects.get(content_type__app_label="etl", codename="upload_file"))
    return viewer


def _file(path: Path = EVERY_RULE, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def test_an_upload_queues_a_run_and_goes_to_its_report(uploader: Client) -> None:
    response = uploader.post(reverse(UPLOAD), {"file": _file(), "reject_above": "90", "warn_above": "5"})
    run = IngestionRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:run-report", args=[run.pk])
    assert (run.status, run.source, run.requested_by) == (RunStatus.QUEUED, "upload", "viewer")
    report = uploader.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in report
    assert ingest_upload(run_id=run.pk, warn_above=5.0, reject_above=90.0) == RunStatus.SUCCEEDED
    run.refresh_from_db()
    assert (run.rows_read, run.rows_quarantined) == (41, 30)


def test_a_dry_run_upload_is_a_dry_run(uploader: Client) -> None:
    uploader.post(reverse(UPLOAD), {"file": _file(), "dry_run": "on"})
    assert IngestionRun.objects.get().dry_run is True


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({}, 400, "This field is required."),
        ({"name": "x.xlsx"}, 400, "only .csv and .json files are accepted"),
        ({"reject_above": "lots"}, 400, "Enter a number."),
        ({"warn_above": "101"}, 400, "less than or equal to 100"),
        ({"content": b""}, 400, "The submitted file is empty."),
    ],
)
def test_a_bad_upload_is_a_clear_one_line_error(
    uploader: Client, data: dict[str, Any], status: int, message: str
) -> None:
    post: dict[str, Any] = {k: v for k, v in data.items() if k not in ("name", "content")}
    if data:
        post["file"] = SimpleUploadedFile(
            data.get("name", "a.csv"), data.get("content", EVERY_RULE.read_bytes())
        )
    response = uploader.post(reverse(UPLOAD), post)
    assert response.status_code == status
    assert message in response.content.decode()
    assert not IngestionRun.objects.exists()


def test_a_file_over_the_limit_is_a_413(uploader: Client, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 10
    response = uploader.post(reverse(UPLOAD), {"file": _file()})
    assert response.status_code == 413
    assert "larger than UPLOAD_MAX_BYTES" in response.content.decode()


def test_the_form_is_shown_to_uploaders(uploader: Client) -> None:
    body = uploader.get(reverse(UPLOAD)).content.decode()
    assert 'enctype="multipart/form-data"' in body
    for name in ("file", "dry_run", "warn_above", "reject_above"):
        assert f'name="{name}"' in body


def test_staff_without_the_upload_permission_get_403(viewer: Client) -> None:
    assert viewer.get(reverse(UPLOAD)).status_code == 403
    assert viewer.post(reverse(UPLOAD), {"file": _file()}).status_code == 403
    assert not IngestionRun.objects.exists()


def test_not_staff_are_sent_to_the_login(not_staff: Client) -> None:
    response = not_staff.post(reverse(UPLOAD), {"file": _file()})
    assert response.status_code == 302
    assert not IngestionRun.objects.exists()
