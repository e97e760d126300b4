"""``/api/ingestion-runs/`` for operators: each filter, its 400 for a bad value, and page_size checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from customers.pagination import INVALID_PAGE_SIZE
from customers.services import api_token_create, user_roles_grant
from ingestion.models import IngestionRun, QuarantinedRecord
from ingestion.run_filters import INVALID_BOOLEAN

pytestmark = pytest.mark.django_db
URL = "/api/ingestion-runs/"
MONDAY = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def api() -> APIClient:
    cache.clear()  # throttle counters from other tests
    user = get_user_model().objects.create_user(username="operator", password="a long enough password")
    user_roles_grant(user=user, roles=["operators"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


def _run(name: str, *, started: dt.datetime, **fields: Any) -> IngestionRun:
    run = IngestionRun.objects.create(filename=name, **{"source": "local", "status": "succeeded", **fields})
    IngestionRun.objects.filter(pk=run.pk).update(started_at=started)  # auto_now_add ignores a given value
    return run


@pytest.fixture
def runs() -> dict[str, IngestionRun]:
    return {
        "ok": _run("partner-a-2026-03-02.csv", started=MONDAY),
        "failed": _run("partner-a-2026-03-03.csv", started=MONDAY + dt.timedelta(days=1), status="failed"),
        "sftp": _run("partner-b.json", started=MONDAY + dt.timedelta(days=2), source="sftp"),
        "dry": _run("Partner-a-dry.csv", started=MONDAY - dt.timedelta(days=1), dry_run=True),
        "odd": _run("partner_%.csv", started=MONDAY + dt.timedelta(hours=1), status="rejected"),
    }


def _names(api: APIClient, params: dict[str, str]) -> set[str]:
    response = api.get(URL, params)
    assert response.status_code == 200, response.content
    return {row["filename"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "failed"}, {"failed"}),
        ({"status": "rejected"}, {"odd"}),
        ({"source": "sftp"}, {"sftp"}),
        ({"source": "SFTP"}, set()),
        ({"filename": "partner-b.json"}, {"sftp"}),
        ({"filename": "partner-b"}, set()),
        ({"filename_prefix": "partner-a-"}, {"ok", "failed"}),
        ({"filename_prefix": "partner_"}, {"odd"}),  # _ is literal, not LIKE's any-character
        ({"filename_prefix": "partner%"}, set()),
        ({"started_after": "2026-03-03T08:00:00Z"}, {"failed", "sftp"}),
        ({"started_before": "2026-03-02T08:00:00Z"}, {"ok", "dry"}),
        ({"started_after": "2026-03-02T09:00:00+01:00", "started_before": "2026-03-02T08:00:00"}, {"ok"}),
        ({"dry_run": "true"}, {"dry"}),
        ({"dry_run": "False"}, {"ok", "failed", "sftp", "odd"}),
        ({"dry_run": "1"}, {"dry"}),
        ({"status": "succeeded", "source": "local", "dry_run": "false"}, {"ok"}),
    ],
)
def test_run_filter_returns_exactly_the_matching_runs(
    api: APIClient, runs: dict[str, IngestionRun], params: dict[str, str], expected: set[str]
) -> None:
    assert _names(api, params) == {runs[key].filename for key in expected}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "ok"),
        ("dry_run", "maybe"),
        ("dry_run", "yes"),
        ("started_after", "yesterday"),
        ("started_before", "2026-02-30T00:00:00Z"),
        ("started_after", "0001-01-01T00:00:00+01:00"),
    ],
)
def test_bad_run_filter_value_is_a_400_naming_it(
    api: APIClient, runs: dict[str, IngestionRun], param: str, value: str
) -> None:
    response = api.get(URL, {param: value})
    assert response.status_code == 400
    assert list(response.json()) == [param]


def test_bad_dry_run_says_what_it_takes(api: APIClient) -> None:
    assert api.get(URL, {"dry_run": "maybe"}).json() == {"dry_run": [INVALID_BOOLEAN]}


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", "501", "100000"])
def test_bad_run_page_size_is_a_400(api: APIClient, runs: dict[str, IngestionRun], value: str) -> None:
    response = api.get(URL, {"page_size": value})
    assert response.status_code == 400
    assert response.json() == {"page_size": [INVALID_PAGE_SIZE.format(maximum=500)]}


def test_run_page_size_is_honoured_up_to_500(api: APIClient, runs: dict[str, IngestionRun]) -> None:
    assert len(api.get(URL, {"page_size": "2"}).json()["results"]) == 2
    assert len(api.get(URL, {"page_size": "500"}).json()["results"]) == len(runs)


def test_filters_follow_the_cursor(api: APIClient, runs: dict[str, IngestionRun]) -> None:
    first = api.get(URL, {"filename_prefix": "partner", "page_size": "2"}).json()
    second = api.get(first["next"]).json()
    names = [row["filename"] for row in first["results"] + second["results"]]
    assert sorted(names) == sorted(r.filename for k, r in runs.items() if k != "dry")


@pytest.mark.parametrize("value", ["0", "1001", "x"])
def test_bad_quarantine_page_size_is_a_400(api: APIClient, value: str) -> None:
    run = _run("q.csv", started=MONDAY)
    QuarantinedRecord.objects.create(run=run, line_number=2, raw={}, rule_codes=["a.b"], messages=["m"])
    response = api.get(f"{URL}{run.pk}/quarantine/", {"page_size": value})
    assert response.status_code == 400
    assert response.json() == {"page_size": [INVALID_PAGE_SIZE.format(maximum=1000)]}
