"""The audit log in the admin: read-only runs, filter by status, search by file name, quarantine inline."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from ingestion.admin import INLINE_LIMIT
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from testsupport.ingest import CASES, ingest

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:etl_ingestionrun_changelist"


def test_runs_are_filtered_by_status(admin_client: Client) -> None:
    IngestionRun.objects.create(source="local", filename="good.csv", status=RunStatus.SUCCEEDED)
    IngestionRun.objects.create(source="local", filename="bad.csv", status=RunStatus.REJECTED)
    page = admin_client.get(reverse(CHANGELIST), {"status__exact": "rejected"})
    assert page.status_code == 200
    assert [run.filename for run in page.context["cl"].result_list] == ["bad.csv"]


def test_dry_runs_read_as_dry_runs_in_the_list(admin_client: Client) -> None:
    IngestionRun.objects.create(source="local", filename="try.csv", status=RunStatus.SUCCEEDED, dry_run=True)
    IngestionRun.objects.create(source="local", filename="real.csv", status=RunStatus.SUCCEEDED)
    body = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert body.count("succeeded (dry run)") == 1
    assert '<td class="field-status_shown">succeeded</td>' in body


def test_runs_are_searched_by_filename(admin_client: Client) -> None:
    IngestionRun.objects.create(source="local", filename="partner-a.csv")
    IngestionRun.objects.create(source="local", filename="partner-b.json")
    page = admin_client.get(reverse(CHANGELIST), {"q": "partner-b"})
    assert [run.filename for run in page.context["cl"].result_list] == ["partner-b.json"]


def test_runs_cannot_be_added_changed_or_deleted(admin_client: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="a.csv")
    assert admin_client.get(reverse("admin:etl_ingestionrun_add")).status_code == 403
    change = admin_client.post(reverse("admin:etl_ingestionrun_change", args=[run.pk]), {"filename": "x"})
    assert change.status_code == 403
    assert admin_client.post(reverse("admin:etl_ingestionrun_delete", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.filename == "a.csv"


def test_run_page_shows_its_quarantined_records(admin_client: Client, tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "ragged.csv")
    page = admin_client.get(reverse("admin:etl_ingestionrun_change", args=[result.run_id]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "expected 12 fields, found 13" in body
    assert f"?run__id__exact={result.run_id}" in body


def test_run_with_many_quarantined_records_links_instead_of_inlining(admin_client: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="bad.csv", rows_quarantined=INLINE_LIMIT + 1)
    QuarantinedRecord.objects.create(run=run, line_number=2, rule_codes=["x.y"], messages=["a message"])
    page = admin_client.get(reverse("admin:etl_ingestionrun_change", args=[run.pk]))
    assert "a message" not in page.content.decode()
    listing = admin_client.get(reverse("admin:etl_quarantinedrecord_changelist"), {"run__id__exact": run.pk})
    assert listing.status_code == 200
    assert [r.line_number for r in listing.context["cl"].result_list] == [2]
