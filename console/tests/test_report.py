"""A run's report page and its quarantine CSV: what they show, and who may read them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from console.report import NO_SUCH_RUN
from dataflow.quality.report import QUARANTINE_CSV_COLUMNS
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from testsupport import CASES
from testsupport.ingest import ingest, run_of

pytestmark = pytest.mark.django_db
EVERY_RULE = CASES / "quality" / "every_rule.csv"


def _report(client: Client, run_id: int) -> str:
    response = client.get(reverse("console:run-report", args=[run_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_report_shows_status_counts_arithmetic_and_rules_with_lines(
    viewer: Client, tmp_path: Path
) -> None:
    run = run_of(ingest(tmp_path, EVERY_RULE))
    body = _report(viewer, run.pk)
    assert 'data-status="succeeded"' in body
    assert f"loaded {run.rows_loaded} of {run.rows_read} records" in body
    assert body.count("adds up") == 2
    assert '<td class="console-mono">email.pattern</td><td class="num">2</td>' in body
    assert "line 8</span> index.type: &quot;12x&quot; is not an integer" in body
    assert "Download quarantine CSV (30 records)" in body
    assert 'http-equiv="refresh"' not in body  # the run is over


def test_staff_who_may_not_view_quarantined_records_see_no_example_of_partner_values(
    runs_viewer: Client, viewer: Client, tmp_path: Path
) -> None:
    run = run_of(ingest(tmp_path, EVERY_RULE))
    assert "&quot;12x&quot; is not an integer" in _report(viewer, run.pk)
    body = _report(runs_viewer, run.pk)
    assert '<td class="console-mono">email.pattern</td><td class="num">2</td>' in body  # counts stay
    assert "12x" not in body
    assert "not-an-email" not in body
    assert 'id="values-hidden"' in body
    assert "Download quarantine CSV" not in body


def test_duplicates_are_shown_with_their_keys_and_lines(viewer: Client, tmp_path: Path) -> None:
    run = run_of(ingest(tmp_path, CASES / "ingest" / "duplicates.csv"))
    body = _report(viewer, run.pk)
    assert '<td class="console-mono">DD37Cf93aecA6Dc</td><td class="num">2</td><td>2, 4</td>' in body


def test_a_key_whose_last_record_was_quarantined_is_shown_as_not_loaded(
    viewer: Client, tmp_path: Path
) -> None:
    run = run_of(ingest(tmp_path, CASES / "ingest" / "last_quarantined.csv"))
    body = _report(viewer, run.pk)
    assert "2 keys not loaded at all, their last occurrence quarantined" in body
    assert (
        '<td class="console-mono">Superseded001</td><td class="num">1</td>'
        "<td>2; last on line 4, quarantined</td>"
    ) in body


def test_a_dry_run_is_marked_as_such(viewer: Client, tmp_path: Path) -> None:
    run = run_of(ingest(tmp_path, EVERY_RULE, dry_run=True))
    body = _report(viewer, run.pk)
    assert "succeeded (dry run)" in body
    assert "would load" in body
    assert "no customer was written" in body


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
def test_the_page_refreshes_itself_while_the_run_is_not_over(viewer: Client, status: str) -> None:
    run = IngestionRun.objects.create(source="upload", filename="a.csv", status=status)
    body = _report(viewer, run.pk)
    assert '<meta http-equiv="refresh" content="2">' in body
    assert "refreshes every 2 s" in body


def test_a_skipped_run_gives_its_reason_in_the_banner(viewer: Client, tmp_path: Path) -> None:
    first = run_of(ingest(tmp_path, EVERY_RULE))
    again = run_of(ingest(tmp_path, EVERY_RULE))
    assert again.status == RunStatus.SKIPPED
    body = _report(viewer, again.pk)
    assert f'<span class="run-banner__reason">already loaded by run {first.pk} (same sha256)' in body


def test_a_rejected_run_shows_its_valid_records_not_loaded_so_the_counts_add_up(
    viewer: Client, tmp_path: Path
) -> None:
    run = run_of(ingest(tmp_path, EVERY_RULE, reject_above=10.0))
    assert run.status == RunStatus.REJECTED
    assert run.rows_loaded == 0
    body = _report(viewer, run.pk)
    valid = run.rows_read - run.rows_duplicates - run.rows_quarantined
    assert valid > 0
    assert "valid, not loaded" in body
    assert body.count("adds up") == 1  # read = 0 loaded + valid + duplicates + quarantined
    assert "rejected as a whole" in body


@pytest.mark.parametrize(
    ("case", "note"),
    [
        ("header_only.csv", "The file held no records: the rules had nothing to check."),
        ("missing_columns.csv", "The rules did not run: the run ended before the quality checks."),
        ("semicolon.csv", "Every record passed the rules."),
    ],
)
def test_the_rules_section_says_whether_any_record_was_checked(
    viewer: Client, tmp_path: Path, case: str, note: str
) -> None:
    """It said every record passed the rules for a file of no records, or one never checked."""
    run = run_of(ingest(tmp_path, CASES / "ingest" / case))
    body = _report(viewer, run.pk)
    assert f'<p id="rules-note">{note}</p>' in body


def test_a_failed_run_shows_its_one_line_reason(viewer: Client) -> None:
    run = IngestionRun.objects.create(
        source="local",
        filename="x.csv",
        status=RunStatus.FAILED,
        error_message="x.csv: not UTF-8 at line 3\nmore",
    )
    body = _report(viewer, run.pk)
    assert '<span class="run-banner__reason">x.csv: not UTF-8 at line 3</span>' in body


def test_the_quarantine_csv_streams_every_record_escaped_like_the_command(viewer: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="x.csv", status=RunStatus.SUCCEEDED)
    QuarantinedRecord.objects.create(
        run=run,
        line_number=3,
        raw={"Email": "=HYPERLINK(1)"},
        rule_codes=["email.pattern"],
        messages=["bad, one"],
    )
    QuarantinedRecord.objects.create(
        run=run, line_number=2, raw_text="a,b", rule_codes=["row.field_count"], messages=["m"]
    )
    response = viewer.get(reverse("console:quarantine-csv", args=[run.pk]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="quarantine-run-{run.pk}.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert rows[0] == list(QUARANTINE_CSV_COLUMNS)
    assert [r[2] for r in rows[1:]] == ["2", "3"]
    assert rows[2][3:6] == ["email.pattern", "bad, one", '{"Email": "=HYPERLINK(1)"}']
    assert rows[1][6] == "a,b"


@pytest.mark.parametrize("name", ["console:run-report", "console:quarantine-csv"])
def test_an_unknown_run_is_a_clear_404(viewer: Client, name: str) -> None:
    for run_id in (424242, 2**64):
        response = viewer.get(reverse(name, args=[run_id]))
        assert response.status_code == 404
        assert NO_SUCH_RUN.format(run_id=run_id) in response.content.decode()


@pytest.mark.parametrize("name", ["console:run-report", "console:quarantine-csv"])
def test_not_staff_are_sent_to_the_login(not_staff: Client, name: str) -> None:
    run = IngestionRun.objects.create(source="local", filename="a.csv")
    response = not_staff.get(reverse(name, args=[run.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("name", ["console:run-report", "console:quarantine-csv"])
def test_staff_without_the_view_permission_get_403(staff_without_permissions: Client, name: str) -> None:
    run = IngestionRun.objects.create(source="local", filename="a.csv")
    assert staff_without_permissions.get(reverse(name, args=[run.pk])).status_code == 403


def test_malformed_paths_and_parameters_never_fail(viewer: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="a.csv")
    assert viewer.get("/console/runs/abc/").status_code == 404
    assert viewer.get(reverse("console:run-report", args=[run.pk]), {"x": "\u2603" * 500}).status_code == 200


def test_the_counts_are_shown_with_thousands_separators(viewer: Client) -> None:
    run = IngestionRun.objects.create(
        source="local",
        filename="big.csv",
        status=RunStatus.SUCCEEDED,
        rows_read=1_234_567,
        rows_loaded=1_234_567,
        rows_inserted=1_000_000,
        rows_unchanged=234_567,
    )
    body = _report(viewer, run.pk)
    assert '<td class="num">1,234,567</td>' in body
    assert '<td class="num">1,000,000</td>' in body
