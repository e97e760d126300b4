"""The audit API: runs and a run's quarantine, token-authenticated, cursor-paginated, filter by rule."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from customers.services import api_token_create, user_roles_grant
from ingestion.models import IngestionRun, QuarantinedRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    cache.clear()  # throttle counters from other tests
    user = get_user_model().objects.create_user(username="auditor", password="a long enough password")
    user_roles_grant(user=user, roles=["operators"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


@pytest.fixture
def run() -> IngestionRun:
    run = IngestionRun.objects.create(
        source="local",
        filename="partner.csv",
        status="succeeded",
        rows_read=4,
        rows_loaded=1,
        rows_quarantined=3,
        warnings=["3 of 4 records failed"],
        report={"quality": {"outcome": "warn"}},
    )
    for line, codes in ((2, ["email.pattern"]), (3, ["index.type", "email.pattern"]), (4, ["index.range"])):
        QuarantinedRecord.objects.create(
            run=run,
            line_number=line,
            raw={"Line": line},
            rule_codes=codes,
            messages=[f"{c}: m" for c in codes],
        )
    return run


def test_runs_need_a_token() -> None:
    cache.clear()
    assert APIClient().get("/api/ingestion-runs/").status_code == 401


def test_quarantine_needs_a_token(run: IngestionRun) -> None:
    cache.clear()
    assert APIClient().get(f"/api/ingestion-runs/{run.pk}/quarantine/").status_code == 401


def test_runs_are_listed_newest_first_with_their_counts(api: APIClient, run: IngestionRun) -> None:
    IngestionRun.objects.create(source="local", filename="newer.csv", status="rejected")
    body = api.get("/api/ingestion-runs/").json()
    assert [r["filename"] for r in body["results"]] == ["newer.csv", "partner.csv"]
    listed = body["results"][1]
    assert (listed["rows_read"], listed["rows_quarantined"], listed["warnings"]) == (
        4,
        3,
        ["3 of 4 records failed"],
    )
    assert "report" not in listed


def test_one_run_carries_its_report(api: APIClient, run: IngestionRun) -> None:
    body = api.get(f"/api/ingestion-runs/{run.pk}/").json()
    assert body["report"] == {"quality": {"outcome": "warn"}}


def test_unknown_run_is_404(api: APIClient) -> None:
    assert api.get("/api/ingestion-runs/999999/").status_code == 404


def test_quarantine_lists_the_runs_records_with_reasons(api: APIClient, run: IngestionRun) -> None:
    body = api.get(f"/api/ingestion-runs/{run.pk}/quarantine/").json()
    assert [r["line_number"] for r in body["results"]] == [2, 3, 4]
    assert body["results"][1]["rule_codes"] == ["index.type", "email.pattern"]
    assert body["results"][1]["raw"] == {"Line": 3}


def test_quarantine_filters_by_rule(api: APIClient, run: IngestionRun) -> None:
    body = api.get(f"/api/ingestion-runs/{run.pk}/quarantine/", {"rule": "email.pattern"}).json()
    assert [r["line_number"] for r in body["results"]] == [2, 3]


def test_quarantine_is_cursor_paginated(api: APIClient, run: IngestionRun) -> None:
    first = api.get(f"/api/ingestion-runs/{run.pk}/quarantine/", {"page_size": 2}).json()
    assert [r["line_number"] for r in first["results"]] == [2, 3]
    assert "cursor=" in first["next"]
    second = api.get(first["next"]).json()
    assert ([r["line_number"] for r in second["results"]], second["next"]) == ([4], None)


def test_run_list_is_cursor_paginated(api: APIClient, run: IngestionRun, settings: Any) -> None:
    for i in range(3):
        IngestionRun.objects.create(source="local", filename=f"f{i}.csv")
    first = api.get("/api/ingestion-runs/", {"page_size": 3}).json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == 3
    assert [r["filename"] for r in second["results"]] == ["partner.csv"]


def test_a_filter_sent_as_raw_utf8_holds_on_the_next_page(api: APIClient) -> None:
    for i in range(3):
        IngestionRun.objects.create(source="local", filename=f"caf\u00e9-{i}.csv")
    IngestionRun.objects.create(source="local", filename="other.csv")
    # Unescaped in the URL, as some clients send it (the test client passes it on as a WSGI server does).
    first = api.get("/api/ingestion-runs/?filename_prefix=caf\u00e9&page_size=2").json()
    second = api.get(first["next"]).json()
    assert [r["filename"] for r in [*first["results"], *second["results"]]] == [
        f"caf\u00e9-{i}.csv" for i in (2, 1, 0)
    ]
