"""The audit log in the admin: read-only runs, filter by status, search by file name, quarantine inline."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from customers.admin import RUN_THAT_LOADED
from customers.models import Customer
from ingestion.admin import BAD_LOADED_QUERY, INLINE_LIMIT, run_page_url
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from testsupport.ingest import CASES, ingest, run_of

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:etl_ingestionrun_changelist"


def test_runs_are_filtered_by_status(admin_client: Client) -> None:
    IngestionRun.objects.create(source="local", filename="good.csv", status=RunStatus.SUCCEEDED)
    IngestionRun.objects.create(source="local", filename="bad.csv", status=RunStatus.REJECTED)
    page = admin_client.get(reverse(CHANGELIST), {"status__exact": "rejected"})
    assert page.status_code == 200
    assert [run.filename for run in page.context["cl"].result_list] == ["bad.csv"]


def test_dry_runs_carry_a_dry_run_badge_and_normal_runs_none(admin_client: Client) -> None:
    IngestionRun.objects.create(source="local", filename="try.csv", status=RunStatus.SUCCEEDED, dry_run=True)
    IngestionRun.objects.create(source="local", filename="real.csv", status=RunStatus.SUCCEEDED)
    body = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert body.count('<span class="run-badge run-badge--dry">dry run</span>') == 1
    assert body.count('<span class="run-badge run-badge--succeeded">succeeded</span>') == 2
    assert "icon-no.svg" not in body  # no red cross on every normal run


def test_the_list_shows_counts_duration_and_start_with_seconds(admin_client: Client) -> None:
    run = IngestionRun.objects.create(
        source="sftp",
        filename="p.csv",
        status=RunStatus.FAILED,
        rows_read=7,
        rows_loaded=5,
        rows_quarantined=2,
    )
    started = datetime(2026, 12, 1, 8, 30, 15, tzinfo=UTC)
    IngestionRun.objects.filter(pk=run.pk).update(
        started_at=started, finished_at=started + timedelta(seconds=75)
    )
    body = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert '<td class="field-started">2026-12-01 08:30:15<span class="run-sub">1 min 15 s</span></td>' in body
    assert f'<span class="run-sub">sftp · run {run.pk}</span>' in body
    for column, value in (("read", 7), ("loaded", 5), ("quarantined", 2)):
        assert f'<td class="field-{column}">{value}</td>' in body
    assert '<span class="run-badge run-badge--failed">failed</span>' in body
    assert "ingestion/runs.css" in body


@pytest.mark.parametrize(
    "query",
    [
        {"status__exact": "rejected"},
        {"source": "sftp"},
        {"started_at__gte": "2026-12-01 00:00:00+00:00", "started_at__lt": "2026-12-02 00:00:00+00:00"},
        {"dry_run__exact": "1"},
        {"dry_run__exact": "maybe"},
        {"started_at__gte": "not a date"},
        {"o": "99"},
    ],
)
def test_filters_answer_without_error_even_malformed(admin_client: Client, query: dict[str, str]) -> None:
    IngestionRun.objects.create(source="sftp", filename="a.csv", status=RunStatus.REJECTED, dry_run=True)
    assert admin_client.get(reverse(CHANGELIST), query).status_code in (200, 302)


def test_the_runs_list_is_for_staff_only(client: Client, django_user_model: Any) -> None:
    user = django_user_model.objects.create_user(username="partner", password="pw-not-staff-1")
    client.force_login(user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


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
    reasons = re.findall(r'<td class="field-reasons">\s*<p>([^<]*)</p>', body)
    assert reasons
    assert [r for r in reasons if r.startswith("[")] == []
    assert f"?run__id__exact={result.run_id}" in body


def test_run_with_many_quarantined_records_links_instead_of_inlining(admin_client: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="bad.csv", rows_quarantined=INLINE_LIMIT + 1)
    QuarantinedRecord.objects.create(run=run, line_number=2, rule_codes=["x.y"], messages=["a message"])
    page = admin_client.get(reverse("admin:etl_ingestionrun_change", args=[run.pk]))
    assert "a message" not in page.content.decode()
    listing = admin_client.get(reverse("admin:etl_quarantinedrecord_changelist"), {"run__id__exact": run.pk})
    assert listing.status_code == 200
    assert [r.line_number for r in listing.context["cl"].result_list] == [2]


def test_a_customer_links_to_the_run_that_last_changed_it(admin_client: Client, tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "three.csv")
    customer = Customer.objects.first()
    assert customer is not None
    page = admin_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    query = urlencode({"file": customer.source_file, "at": customer.ingested_at.isoformat()})
    assert escape(f"{reverse(RUN_THAT_LOADED)}?{query}") in page
    response = admin_client.get(
        reverse(RUN_THAT_LOADED), {"file": "three.csv", "at": customer.ingested_at.isoformat()}
    )
    assert response.status_code == 302
    assert response["Location"] == run_page_url(run_of(result).pk)


def test_a_run_from_before_the_stamp_is_found_by_its_time_window(admin_client: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="old.csv", status=RunStatus.SUCCEEDED)
    IngestionRun.objects.filter(pk=run.pk).update(
        started_at=datetime(2026, 1, 1, 10, tzinfo=UTC), finished_at=datetime(2026, 1, 1, 11, tzinfo=UTC)
    )
    response = admin_client.get(
        reverse(RUN_THAT_LOADED), {"file": "old.csv", "at": "2026-01-01T10:30:00+00:00"}
    )
    assert response["Location"] == run_page_url(run.pk)


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ({}, 400, BAD_LOADED_QUERY),
        ({"file": "a.csv", "at": "yesterday"}, 400, BAD_LOADED_QUERY),
        ({"file": "a.csv", "at": "2026-02-30T00:00:00+00:00"}, 400, BAD_LOADED_QUERY),
        ({"file": "a.csv", "at": "2026-02-03T00:00:00"}, 400, BAD_LOADED_QUERY),
        ({"file": "a.csv", "at": "2026-02-03T00:00:00+00:00"}, 404, "no run recorded loading a.csv"),
    ],
)
def test_finding_the_run_of_a_customer_answers_bad_queries_clearly(
    admin_client: Client, query: dict[str, str], status: int, text: str
) -> None:
    response = admin_client.get(reverse(RUN_THAT_LOADED), query)
    assert (response.status_code, text in response.content.decode()) == (status, True)


def test_finding_the_run_of_a_customer_is_for_staff_only(client: Client, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user(username="u", password="pw-not-staff-1"))
    assert client.get(reverse(RUN_THAT_LOADED)).status_code == 302


def test_the_runs_list_links_the_dashboard_and_the_upload_form(admin_client: Client) -> None:
    body = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert f'href="{reverse("console:dashboard")}"' in body
    assert f'href="{reverse("console:upload")}"' in body


def test_run_page_shows_the_report_as_indented_json(admin_client: Client, tmp_path: Path) -> None:
    run = run_of(ingest(tmp_path, CASES / "ragged.csv"))

    body = admin_client.get(reverse("admin:etl_ingestionrun_change", args=[run.pk])).content.decode()

    shown = re.search(r'<pre class="run-report-json">(.*?)</pre>', body, re.S)
    assert shown is not None
    assert json.loads(html.unescape(shown.group(1))) == run.report
    assert "\n  " in shown.group(1)  # indented, not one line


def test_run_page_shows_the_report_without_examples_to_staff_who_may_not_view_quarantined_records(
    client: Client, django_user_model: Any, tmp_path: Path
) -> None:
    from django.contrib.auth.models import Permission

    from customers.permissions import report_without_values

    run = run_of(ingest(tmp_path, CASES.parent / "quality" / "every_rule.csv"))
    user = django_user_model.objects.create_user(username="runs", password="pw-runs-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="etl", codename="view_ingestionrun")
    )
    client.force_login(user)

    body = client.get(reverse("admin:etl_ingestionrun_change", args=[run.pk])).content.decode()

    shown = re.search(r'<pre class="run-report-json">(.*?)</pre>', body, re.S)
    assert shown is not None
    assert json.loads(html.unescape(shown.group(1))) == report_without_values(run.report) != run.report
    assert "12x" not in body
    assert "not-an-email" not in body
