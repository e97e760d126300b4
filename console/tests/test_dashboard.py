"""The dashboard: one aggregate per chart over a validated date range, staff who may view runs only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from console.dashboard import RANGE_REVERSED, RANGE_TOO_LATE, RANGE_TOO_LONG
from console.dashboard_data import Span, partner_pattern, per_day, per_pattern, per_source, top_rules
from ingestion.models import IngestionRun, RunStatus

pytestmark = pytest.mark.django_db
DASHBOARD = "console:dashboard"


def _run(
    day: int, *, source: str = "sftp", filename: str = "acme-2026-12-01.csv", **fields: Any
) -> IngestionRun:
    values = {
        "status": RunStatus.SUCCEEDED,
        "rows_read": 100,
        "rows_loaded": 90,
        "rows_quarantined": 10,
    } | fields
    run = IngestionRun.objects.create(source=source, filename=filename, **values)
    IngestionRun.objects.filter(pk=run.pk).update(started_at=datetime(2026, 12, day, 10, tzinfo=UTC))
    return run


DEC = Span(first=date(2026, 12, 1), last=date(2026, 12, 3))


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("Customers-2026-12-04.csv", "customers-*.csv"),
        ("acme_20261204_1.json", "acme_*.json"),
        ("partner-b-10:30.csv", "partner-b-*.csv"),
        ("customers.csv", "customers.csv"),
    ],
)
def test_a_file_name_s_partner_pattern_strips_digits_and_dates(name: str, pattern: str) -> None:
    assert partner_pattern(name) == pattern


def test_rows_loaded_and_quarantine_rate_per_day_fill_every_day() -> None:
    _run(1)
    _run(1, rows_read=300, rows_loaded=300, rows_quarantined=0)
    _run(3, status=RunStatus.REJECTED, rows_loaded=0, rows_quarantined=60)
    _run(3, dry_run=True)  # not counted
    _run(2, status=RunStatus.FAILED)  # not counted
    assert per_day(DEC) == {
        "labels": ["2026-12-01", "2026-12-02", "2026-12-03"],
        "loaded": [390, 0, 0],
        "read": [400, 0, 100],
        "rate": [2.5, None, 60.0],  # a day that read nothing has no rate (it was drawn as 0 %)
    }


def test_per_source_and_per_pattern_group_runs() -> None:
    _run(1, source="sftp", filename="acme-2026-12-01.csv")
    _run(2, source="sftp", filename="ACME-2026-12-02.csv")
    _run(2, source="s3", filename="beta_7.json", rows_read=50, rows_loaded=50, rows_quarantined=0)
    assert per_source(DEC)["labels"] == ["s3", "sftp"]
    assert per_source(DEC)["loaded"] == [50, 180]
    patterns = per_pattern(DEC)
    assert (patterns["labels"], patterns["rate"]) == (["acme-*.csv", "beta_*.json"], [10.0, 0.0])


def test_top_rules_add_up_the_failures_of_the_runs_reports() -> None:
    failures = {"email.pattern": {"count": 4, "example": ""}, "city.required": {"count": 1, "example": ""}}
    _run(1, report={"quality": {"failures": failures}})
    _run(2, report={"quality": {"failures": {"email.pattern": {"count": 2, "example": ""}}}})
    _run(2, report={"quality": {"failures": []}})  # a malformed report is skipped, not an error
    assert top_rules(DEC) == {"labels": ["email.pattern", "city.required"], "count": [6, 1]}


def test_the_dashboard_passes_each_chart_s_data_as_json(viewer: Client) -> None:
    _run(1, source="local")
    response = viewer.get(reverse(DASHBOARD), {"from": "2026-12-01", "to": "2026-12-03"})
    assert response.status_code == 200
    body = response.content.decode()
    data = json.loads(
        body.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["days"]["loaded"] == [90, 0, 0]
    assert set(data) == {"days", "sources", "patterns", "rules"}
    assert "console/vendor/chart.umd.min.js" in body
    assert 'id="latest-runs"' in body


def test_the_default_range_is_the_last_30_days(viewer: Client) -> None:
    response = viewer.get(reverse(DASHBOARD))
    assert response.status_code == 200
    assert len(response.context["charts"]["days"]["labels"]) == 30


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "yesterday"}, "from: Enter a valid date."),
        ({"to": "2026-02-30"}, "to: Enter a valid date."),
        ({"from": "2026-12-05", "to": "2026-12-01"}, RANGE_REVERSED),
        ({"from": "2020-01-01", "to": "2026-12-01"}, RANGE_TOO_LONG),
        ({"from": "9" * 5000}, "from: Enter a valid date."),
        ({"from": "0001-01-01", "to": "0001-01-02"}, ""),
        ({"to": "0001-01-01"}, ""),  # the default start, 29 days earlier, is before the calendar
        ({"from": "9999-12-30", "to": "9999-12-31"}, RANGE_TOO_LATE),
    ],
)
def test_a_bad_range_is_a_clear_400_never_a_500(viewer: Client, query: dict[str, str], message: str) -> None:
    response = viewer.get(reverse(DASHBOARD), query)
    assert response.status_code == (200 if not message else 400)
    assert message in response.content.decode()


def test_not_staff_are_sent_to_the_login(not_staff: Client) -> None:
    response = not_staff.get(reverse(DASHBOARD))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_view_permission_get_403(staff_without_permissions: Client) -> None:
    assert staff_without_permissions.get(reverse(DASHBOARD)).status_code == 403


def test_no_quarantined_record_in_the_range_says_so_instead_of_an_empty_chart(viewer: Client) -> None:
    _run(1, source="local", rows_quarantined=0, rows_loaded=100)

    body = viewer.get(reverse(DASHBOARD), {"from": "2026-12-01", "to": "2026-12-03"}).content.decode()

    assert 'id="no-failing-rules"' in body
    assert 'id="chart-rules"' not in body
    assert 'id="chart-days"' in body


def test_counts_are_shown_with_thousands_separators(viewer: Client) -> None:
    """1234567 is hard to read at a glance (the latest-runs table printed bare numbers)."""
    _run(2, rows_read=1_234_567, rows_loaded=1_200_000, rows_quarantined=34_567)
    body = viewer.get(reverse(DASHBOARD), {"from": "2026-12-01", "to": "2026-12-03"}).content.decode()
    cells = (
        '<td class="num">1,234,567</td>',
        '<td class="num">1,200,000</td>',
        '<td class="num">34,567</td>',
    )
    assert all(cell in body for cell in cells), body
