"""Every page of the operator console (its own pages and the admin's runs, quarantined records and
customers) answers malformed parameters with a page or a 4xx, never a 5xx."""

from __future__ import annotations

import pytest
from django.test import Client

from ingestion.models import IngestionRun, QuarantinedRecord

pytestmark = pytest.mark.django_db
BEYOND_BIGINT = "9" * 25
PAGES = [
    "/admin/etl/ingestionrun/",
    "/admin/etl/ingestionrun/{run}/change/",
    "/admin/etl/ingestionrun/loaded/",
    "/admin/etl/quarantinedrecord/",
    "/admin/customers/customer/",
    "/console/",
    "/console/upload/",
    "/console/runs/{run}/",
    "/console/runs/{run}/quarantine.csv",
]
MALFORMED: list[dict[str, str | list[str]]] = [
    {"q": "%_\\'"},
    {"q": "x" * 10_000},
    {"q": "\u00b2"},
    {"o": "abc"},
    {"o": "99.-1"},
    {"p": "-1"},
    {"p": BEYOND_BIGINT},
    {"run": "\u00b2"},
    {"run": BEYOND_BIGINT, "rule": "x" * 5000},
    {"status__exact": "nope"},
    {"dry_run__exact": "maybe"},
    {"started_at__gte": "2026-99-99"},
    {"started_at__year": BEYOND_BIGINT},
    {"started_at__year": "9999", "started_at__month": "12"},
    {"id__exact": BEYOND_BIGINT},
    {"country__exact": "x" * 3000},
    {"file": "a.csv", "at": "2026-02-30T00:00Z"},
    {"file": "x" * 300, "at": BEYOND_BIGINT},
    {"from": BEYOND_BIGINT, "to": "2026-01-01"},
    {"to": "0001-01-01"},
    {"from": ["2026-01-01", "2026-02-01"]},
]


@pytest.mark.parametrize("page", PAGES)
def test_no_malformed_parameter_is_a_server_error(admin_client: Client, page: str) -> None:
    run = IngestionRun.objects.create(
        source="local", filename="a.csv", status="succeeded", rows_quarantined=1
    )
    QuarantinedRecord.objects.create(run=run, line_number=2, rule_codes=["email.pattern"], messages=["m"])
    url = page.format(run=run.pk)

    answers = {str(params)[:60]: admin_client.get(url, params).status_code for params in MALFORMED}

    assert {params: status for params, status in answers.items() if status >= 500} == {}
