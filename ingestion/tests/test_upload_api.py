"""``POST /api/ingestions/``: who may upload, the 202 and its Location, the limits, the bad bodies.

The queued job is run in-process here (``ingestion.tasks.ingest_upload``, called with the
job's own arguments); a real worker process runs it in ``test_worker.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from customers.models import Customer
from customers.query_params import REPEATED_PARAMETER
from customers.services import api_token_create, user_roles_grant
from ingestion.models import IngestionRun, RunStatus
from ingestion.tasks import ingest_upload
from ingestion.upload_jobs import INGEST_UPLOAD_TASK
from testsupport import SAMPLE

pytestmark = pytest.mark.django_db
URL = "/api/ingestions/"


@pytest.fixture(autouse=True)
def uploads(settings: Any, tmp_path: Path) -> Any:
    cache.clear()  # throttle counters from other tests
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    return settings


def _client(*roles: str) -> APIClient:
    name = "-".join(roles) or "nobody"
    user = get_user_model().objects.create_user(username=name, password="a long password 1")
    user_roles_grant(user=user, roles=roles)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


@pytest.fixture
def uploader() -> APIClient:
    return _client("uploaders")


def _sample(name: str = "customers-100.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, SAMPLE.read_bytes(), content_type="text/csv")


def _run_queued_jobs() -> None:
    for job in ProcrastinateJob.objects.filter(task_name=INGEST_UPLOAD_TASK, status="todo").order_by("id"):
        ingest_upload(**job.args)


def test_an_upload_is_accepted_queued_and_followed_to_its_end(uploader: APIClient) -> None:
    response = uploader.post(URL, {"file": _sample()}, format="multipart")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["filename"], body["source"]) == ("queued", "customers-100.csv", "upload")
    assert response["Location"] == f"/api/ingestion-runs/{body['id']}/"
    _run_queued_jobs()
    run = uploader.get(response["Location"]).json()
    assert (run["status"], run["rows_read"], run["rows_loaded"]) == ("succeeded", 100, 100)
    assert Customer.objects.count() == 100


def test_upload_options_have_the_ingest_commands_meaning(uploader: APIClient) -> None:
    form = {"file": _sample(), "dry_run": "true", "reject_above": "50", "warn_above": "5"}
    response = uploader.post(URL, form, format="multipart")
    assert response.status_code == 202
    job = ProcrastinateJob.objects.get()
    assert job.args == {"run_id": response.json()["id"], "warn_above": 5.0, "reject_above": 50.0}
    _run_queued_jobs()
    run = IngestionRun.objects.get()
    assert (run.status, run.dry_run, run.rows_loaded) == (RunStatus.SUCCEEDED, True, 100)
    assert not Customer.objects.exists()  # a dry run changes no customer


def test_the_same_bytes_uploaded_twice_are_skipped_pointing_at_the_first_run(uploader: APIClient) -> None:
    first = uploader.post(URL, {"file": _sample()}, format="multipart").json()
    _run_queued_jobs()
    second = uploader.post(URL, {"file": _sample("renamed.csv")}, format="multipart").json()
    _run_queued_jobs()
    run = uploader.get(f"/api/ingestion-runs/{second['id']}/").json()
    assert run["status"] == "skipped"
    skipped = f"already loaded by run {first['id']} (same sha256); nothing to do"
    assert run["warnings"] == [skipped]


def test_uploading_needs_a_token() -> None:
    response = APIClient().post(URL, {"file": _sample()}, format="multipart")
    assert response.status_code == 401
    assert not IngestionRun.objects.exists()


@pytest.mark.parametrize("roles", [(), ("operators",), ("customers",)])
def test_uploading_needs_the_upload_permission(roles: tuple[str, ...]) -> None:
    response = _client(*roles).post(URL, {"file": _sample()}, format="multipart")
    assert response.status_code == 403
    assert "etl.upload_file" in response.json()["detail"]
    assert not IngestionRun.objects.exists()


def test_a_file_beyond_upload_max_bytes_is_a_413(uploader: APIClient, uploads: Any) -> None:
    uploads.UPLOAD_MAX_BYTES = 1000
    response = uploader.post(URL, {"file": _sample()}, format="multipart")
    assert response.status_code == 413
    assert "UPLOAD_MAX_BYTES (1000 bytes)" in response.json()["detail"]
    assert not IngestionRun.objects.exists()
    assert [p for p in Path(uploads.UPLOAD_DIR).rglob("*") if p.is_file()] == []


def test_a_body_declared_beyond_the_limit_is_refused_before_it_is_read(
    uploader: APIClient, uploads: Any
) -> None:
    uploads.UPLOAD_MAX_BYTES = 1000
    response = uploader.generic(
        "POST",
        URL,
        "",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(10 << 30),
    )
    assert response.status_code == 413


def test_the_stored_name_is_sanitized(uploader: APIClient) -> None:
    upload = SimpleUploadedFile("../../etc/evil\x1b[31m.csv", SAMPLE.read_bytes())
    body = uploader.post(URL, {"file": upload}, format="multipart").json()
    assert body["filename"] == "evil[31m.csv"


def test_a_name_long_in_utf8_bytes_is_cut_to_fit_the_file_system(uploader: APIClient) -> None:
    upload = SimpleUploadedFile("é" * 300 + ".csv", SAMPLE.read_bytes())
    response = uploader.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 202
    assert response.json()["filename"] == "é" * 98 + ".csv"


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({}, "file"),
        ({"file": SimpleUploadedFile("empty.csv", b"")}, "file"),
        ({"file": SimpleUploadedFile("customers.xlsx", b"PK\x03\x04")}, "only .csv and .json"),
        ({"file": SimpleUploadedFile("x.csv", b"a,b\n"), "dry_run": "maybe"}, "dry_run"),
        ({"file": SimpleUploadedFile("x.csv", b"a,b\n"), "reject_above": "lots"}, "reject_above"),
        ({"file": SimpleUploadedFile("x.csv", b"a,b\n"), "reject_above": "150"}, "reject_above"),
        ({"file": SimpleUploadedFile("x.csv", b"a,b\n"), "force": "true"}, "force"),
        ({"file": "not a file"}, "file"),
    ],
)
def test_a_bad_form_is_a_400_saying_why(uploader: APIClient, form: dict[str, Any], problem: str) -> None:
    response = uploader.post(URL, form, format="multipart")
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not IngestionRun.objects.exists()


def test_an_option_given_twice_is_a_400_not_the_last_one_silently(uploader: APIClient) -> None:
    upload = SimpleUploadedFile("x.csv", SAMPLE.read_bytes())
    response = uploader.post(URL, {"file": upload, "dry_run": ["true", "false"]}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"dry_run": [REPEATED_PARAMETER.format(count=2)]}
    assert not IngestionRun.objects.exists()


MULTIPART = "multipart/form-data; boundary=xyz"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nab', MULTIPART),
        (b"garbage", MULTIPART),
        (b"--xyz--\r\n", MULTIPART),
        (b"anything", "multipart/form-data"),
        (b"anything", "multipart/form-data; boundary="),
    ],
)
def test_a_malformed_multipart_body_is_a_400(uploader: APIClient, body: bytes, content_type: str) -> None:
    response = uploader.generic("POST", URL, body.decode("latin-1"), content_type=content_type)
    assert response.status_code == 400
    assert response.json()
    assert not IngestionRun.objects.exists()


def test_a_body_that_is_not_multipart_is_a_415(uploader: APIClient) -> None:
    response = uploader.post(URL, {"file": "x"}, format="json")
    assert response.status_code == 415


def test_two_files_in_one_request_are_a_400(uploader: APIClient) -> None:
    response = uploader.post(URL, {"file": [_sample(), _sample("b.csv")]}, format="multipart")
    assert response.status_code == 400
    assert "one file" in response.content.decode()


def test_the_schema_documents_the_upload_as_a_binary_file(uploader: APIClient) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.org", "a long password 2")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=root)}")
    schema = client.get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/ingestions/"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    component = schema["components"]["schemas"][form["$ref"].rsplit("/", 1)[-1]]
    assert component["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "The partner file: a name ending in .csv or .json.",
    }
    assert component["required"] == ["file"]
    # What Swagger's try-it sends for a field left alone: the schema's own thresholds, never 0.
    assert (
        component["properties"]["warn_above"]["example"],
        component["properties"]["reject_above"]["example"],
    ) == (
        1.0,
        10.0,
    )
    assert {"202", "400", "401", "403", "413"} <= set(post["responses"])
