"""The rules inside a real ingest (``manage.py ingest``, real PostgreSQL): quarantine, thresholds, report."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from alerts.models import AlertRecord
from customers.models import Customer
from dataflow.quality import load_ruleset
from dataflow.quality import messages as msg
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from testsupport import CASES as CASES_ROOT

pytestmark = pytest.mark.django_db(transaction=True)

CASES = CASES_ROOT / "quality"
SAMPLE = Path(__file__).resolve().parents[2] / "scripts" / "downloads" / "customers-100.csv"


def _ingest(tmp_path: Path, path: Path, *args: str) -> tuple[IngestionRun, str]:
    out = StringIO()
    call_command("ingest", "--path", str(path), *args, stdout=out, stderr=StringIO())
    return IngestionRun.objects.latest("id"), out.getvalue()


def _rejected(tmp_path: Path, path: Path, *args: str) -> tuple[IngestionRun, CommandError]:
    with pytest.raises(CommandError) as caught:
        call_command("ingest", "--path", str(path), *args, stdout=StringIO(), stderr=StringIO())
    return IngestionRun.objects.latest("id"), caught.value


def _codes(run: IngestionRun) -> dict[int, list[str]]:
    return {r.line_number or 0: r.rule_codes for r in QuarantinedRecord.objects.filter(run=run)}


def _counts(run: IngestionRun) -> tuple[int, int, int, int]:
    return run.rows_read, run.rows_loaded, run.rows_duplicates, run.rows_quarantined


@pytest.fixture(autouse=True)
def _work_dir(settings: Any, tmp_path: Path) -> None:
    settings.INGEST_WORK_DIR = tmp_path / "work"


def test_sample_file_passes_every_rule(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, SAMPLE)
    assert (run.status, _counts(run), run.warnings) == (RunStatus.SUCCEEDED, (100, 100, 0, 0), [])
    assert run.report["quality"]["outcome"] == "ok"


def test_file_failing_every_rule_quarantines_those_records_and_loads_the_others(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, CASES / "every_rule.csv", "--reject-above", "100")
    assert run.status == RunStatus.SUCCEEDED
    assert _counts(run) == (41, 10, 1, 30)
    assert run.rows_read == run.rows_loaded + run.rows_duplicates + run.rows_quarantined
    assert Customer.objects.count() == 10
    assert Customer.objects.get(customer_id="GoodCust0002").first_name == "Renamed"  # last occurrence won


def test_every_shipped_rule_fails_at_least_once_in_the_every_rule_file(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, CASES / "every_rule.csv", "--reject-above", "100")
    seen = {code for codes in _codes(run).values() for code in codes}
    key_rule = f"{load_ruleset().key}.unique"  # resolved as duplicates, never quarantined
    assert seen == set(load_ruleset().codes) - {key_rule}


def test_record_failing_three_rules_keeps_all_three_reasons(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, CASES / "every_rule.csv", "--reject-above", "100")
    record = QuarantinedRecord.objects.get(run=run, line_number=36)
    assert record.rule_codes == ["index.type", "email.pattern", "website.pattern"]
    assert record.messages == [
        f'index.type: "x" {msg.NOT_INTEGER}',
        f'email.pattern: "not-an-email" {msg.NOT_EMAIL}',
        f'website.pattern: "www.nope" {msg.NOT_URL}',
    ]
    assert record.raw is not None
    assert (record.raw["Index"], record.raw["Email"]) == ("x", "not-an-email")


def test_unparseable_date_is_a_type_failure_quoting_the_file_text(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, CASES / "every_rule.csv", "--reject-above", "100")
    record = QuarantinedRecord.objects.get(run=run, line_number=32)
    assert record.rule_codes == ["subscription_date.type"]
    assert record.messages == [
        f'subscription_date.type: "2023-02-29" {msg.NOT_DATE.format(formats="%Y-%m-%d")}'
    ]


def test_three_percent_bad_records_load_the_rest_with_a_warning_and_an_alert(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, CASES / "three_percent_bad.csv")
    assert (run.status, _counts(run)) == (RunStatus.SUCCEEDED, (100, 97, 0, 3))
    assert sorted(_codes(run)) == [11, 51, 91]
    expected = msg.WARN_INVALID_SHARE.format(invalid=3, total=100, share=3.0, warn=1.0)
    assert expected in run.warnings
    assert AlertRecord.objects.filter(run=run, cause="warn_threshold").exists()


def test_file_over_reject_above_is_rejected_loads_nothing_and_keeps_its_quarantine(tmp_path: Path) -> None:
    run, error = _rejected(tmp_path, CASES / "over_reject.csv")
    assert run.status == RunStatus.REJECTED
    assert Customer.objects.count() == 0
    assert sorted(_codes(run)) == [6, 11, 16]
    reason = msg.REJECT_INVALID_SHARE.format(invalid=3, total=20, share=15.0, reject=10.0)
    assert reason in run.error_message
    assert reason in str(error)
    assert run.report["quality"]["failures"]["email.pattern"]["count"] == 3
    assert (run.rows_read, run.rows_loaded, run.rows_quarantined) == (20, 0, 3)


def test_rejected_file_changes_no_existing_customer(tmp_path: Path) -> None:
    _ingest(tmp_path, CASES / "three_percent_bad.csv")
    before = list(
        Customer.objects.order_by("customer_id").values_list("customer_id", "first_name", "ingested_at")
    )
    _rejected(tmp_path, CASES / "over_reject.csv")
    after = list(
        Customer.objects.order_by("customer_id").values_list("customer_id", "first_name", "ingested_at")
    )
    assert after == before


def test_reject_above_option_overrides_the_schema_for_one_run(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, CASES / "over_reject.csv", "--reject-above", "20")
    assert (run.status, run.rows_loaded) == (RunStatus.SUCCEEDED, 17)
    assert run.report["quality"]["thresholds"] == {"warn_above": 1.0, "reject_above": 20.0}


def test_warn_above_option_silences_the_warning_for_one_run(tmp_path: Path) -> None:
    run, _out = _ingest(tmp_path, CASES / "three_percent_bad.csv", "--warn-above", "5")
    assert (run.status, run.warnings) == (RunStatus.SUCCEEDED, [])


def test_threshold_option_outside_0_100_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="reject_above must be a percentage between 0 and 100, not 150"):
        call_command("ingest", "--path", str(SAMPLE), "--reject-above", "150", stdout=StringIO())


def test_dry_run_rejects_exactly_as_a_real_run_would(tmp_path: Path) -> None:
    run, _error = _rejected(tmp_path, CASES / "over_reject.csv", "--dry-run")
    assert (run.status, run.dry_run, run.rows_quarantined) == (RunStatus.REJECTED, True, 3)
    assert Customer.objects.count() == 0


def test_ingest_prints_each_rule_with_its_failures_and_an_example(tmp_path: Path) -> None:
    _run, out = _ingest(tmp_path, CASES / "three_percent_bad.csv")
    assert 'email.pattern         3  email.pattern: "not-an-email" is not an email address' in out


def test_quarantine_csv_option_writes_the_runs_records_for_the_partner(tmp_path: Path) -> None:
    target = tmp_path / "quarantine.csv"
    _run, _out = _ingest(tmp_path, CASES / "three_percent_bad.csv", "--quarantine-csv", str(target))
    with target.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["line_number"] for r in rows] == ["11", "51", "91"]
    assert rows[0]["messages"] == 'email.pattern: "not-an-email" is not an email address'


def test_dry_run_quarantines_exactly_what_a_real_run_does(tmp_path: Path) -> None:
    dry, _out = _ingest(tmp_path, CASES / "three_percent_bad.csv", "--dry-run")
    real, _out = _ingest(tmp_path, CASES / "three_percent_bad.csv")
    assert (dry.status, dry.warnings, _codes(dry)) == (real.status, real.warnings, _codes(real))
    assert dry.report["quality"]["failures"] == real.report["quality"]["failures"]


def test_rows_the_reader_set_aside_count_towards_the_thresholds(tmp_path: Path) -> None:
    run, _error = _rejected(tmp_path, CASES_ROOT / "ingest" / "ragged.csv")
    assert run.status == RunStatus.REJECTED
    assert run.report["quality"]["failures"]["row.field_count"]["count"] == 2
    assert run.report["quality"]["invalid"] == 2
