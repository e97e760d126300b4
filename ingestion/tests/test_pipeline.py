"""The pipeline end to end against PostgreSQL: one file in, customers and an audit run out."""

from __future__ import annotations

import gzip
import hashlib
import os
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from alerts.base import AlertCause
from alerts.models import AlertRecord
from customers.models import Customer
from dataflow.context import HookBase, StageContext
from ingestion.models import QuarantinedRecord, RunStatus
from ingestion.pipeline import SKIPPED_MESSAGE, ingest_file
from ingestion.publish import NO_RECORDS_WARNING
from ingestion.services import STALE_RUN_MESSAGE, run_start
from testsupport.ingest import CASES, SAMPLE, inbox_with, ingest, options_for, run_of, write_customers
from testsupport.servers import HttpRecorder

pytestmark = pytest.mark.django_db


def test_sample_file_loads_100_rows_with_the_right_types(tmp_path: Path) -> None:
    result = ingest(tmp_path, SAMPLE)
    assert result.status == RunStatus.SUCCEEDED
    assert (result.counts.read, result.counts.loaded, result.counts.inserted) == (100, 100, 100)
    first = Customer.objects.get(customer_id="DD37Cf93aecA6Dc")
    assert (first.index, first.subscription_date, first.company) == (1, date(2020, 8, 24), "Rasmussen Group")
    assert first.source_file == "customers-100.csv"
    run = run_of(result)
    assert (run.rows_read, run.rows_loaded, run.size) == (100, 100, SAMPLE.stat().st_size)
    assert run.finished_at is not None
    assert run.pid == os.getpid()


def test_a_run_is_stamped_with_the_ingested_at_of_the_customers_it_wrote(tmp_path: Path) -> None:
    run = run_of(ingest(tmp_path, SAMPLE))
    assert set(Customer.objects.values_list("ingested_at", flat=True)) == {run.loaded_at}


def test_the_report_names_the_duplicate_keys_with_their_lines(tmp_path: Path) -> None:
    run = run_of(ingest(tmp_path, CASES / "duplicates.csv"))
    assert run.report["duplicates"]["keys"] == [
        {"key": "DD37Cf93aecA6Dc", "count": 2, "lines": [2, 4]},
        {"key": "1Ef7b82A4CAAD10", "count": 2, "lines": [3, 6]},
    ]


def test_a_dry_run_carries_no_load_stamp(tmp_path: Path) -> None:
    assert run_of(ingest(tmp_path, SAMPLE, dry_run=True)).loaded_at is None


def test_reingesting_same_file_is_a_no_op_with_a_skipped_run(tmp_path: Path) -> None:
    first = ingest(tmp_path, SAMPLE)
    before = list(Customer.objects.values_list("id", "ingested_at"))
    again = ingest(tmp_path, SAMPLE)
    assert again.status == RunStatus.SKIPPED
    assert again.message == SKIPPED_MESSAGE.format(run_id=first.run_id)
    assert list(Customer.objects.values_list("id", "ingested_at")) == before


def test_forced_reingest_changes_nothing_and_counts_unchanged(tmp_path: Path) -> None:
    ingest(tmp_path, SAMPLE)
    again = ingest(tmp_path, SAMPLE, force=True)
    assert again.status == RunStatus.SUCCEEDED
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 100)


def test_changed_file_updates_only_changed_rows(tmp_path: Path) -> None:
    ingest(tmp_path, SAMPLE)
    lines = SAMPLE.read_text().splitlines()
    lines[1] = lines[1].replace("Sheryl", "Cheryl")
    lines[2] = lines[2].replace("Preston", "Peter")
    changed = tmp_path / "changed" / "customers-100.csv"
    changed.parent.mkdir()
    changed.write_text("\n".join(lines) + "\n")
    result = ingest(tmp_path / "second", changed)
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (0, 2, 98)
    assert Customer.objects.get(customer_id="DD37Cf93aecA6Dc").first_name == "Cheryl"


@pytest.mark.parametrize(
    "name", ["semicolon.csv", "tab.tsv", "pipe.txt", "quoted_multiline.csv", "wrapped.json", "nested.json"]
)
def test_each_supported_shape_loads(tmp_path: Path, name: str) -> None:
    result = ingest(tmp_path, CASES / name)
    assert result.status == RunStatus.SUCCEEDED
    assert result.counts.loaded == result.counts.read > 0
    assert Customer.objects.filter(customer_id="DD37Cf93aecA6Dc", first_name="Sheryl").exists()


def test_gzip_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv.gz"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert ingest(tmp_path, path).counts.loaded == 100


def test_ragged_rows_become_quarantined_records(tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "ragged.csv")
    assert (result.counts.read, result.counts.loaded, result.counts.quarantined) == (4, 2, 2)
    records = QuarantinedRecord.objects.filter(run_id=result.run_id).order_by("line_number")
    assert [(r.line_number, r.rule_codes) for r in records] == [
        (3, ["row.field_count"]),
        (5, ["row.field_count"]),
    ]
    assert records[1].raw_text.endswith(",EXTRA")


def test_broken_ndjson_lines_become_quarantined_records(tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "broken.ndjson")
    assert (result.counts.read, result.counts.loaded, result.counts.quarantined) == (4, 2, 2)
    lines = QuarantinedRecord.objects.filter(run_id=result.run_id).values_list("line_number", flat=True)
    assert sorted(line for line in lines if line is not None) == [2, 5]


def test_undecodable_bytes_in_a_json_document_quarantine_one_record(tmp_path: Path) -> None:
    raw = (CASES / "nested.json").read_bytes().replace(b'"Vega-Gentry"', b'"Vega\xff-Gentry"')
    path = tmp_path / "customers.json"
    path.write_bytes(raw.replace(b"Rasmussen", "Rasmüssen".encode()))
    result = ingest(tmp_path, path)
    assert (result.status, result.counts.loaded, result.counts.quarantined) == (RunStatus.SUCCEEDED, 1, 1)
    record = QuarantinedRecord.objects.get(run_id=result.run_id)
    assert (record.line_number, record.rule_codes) == (2, ["row.encoding"])
    assert "Vega\\udcff-Gentry" in record.raw_text


LONG_COMPANY = "Extraordinarily Long Company Name Holdings International and Partners Worldwide"


def test_outlier_examples_after_a_ragged_row_name_their_real_lines(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines()
    assert '"' not in lines[40]
    company = lines[40].split(",")[4]
    lines[40] = lines[40].replace(company, LONG_COMPANY)
    lines.insert(2, "2,RAGGED,row")  # line 3: records after it are numbered one line short until the fix
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n")
    run = run_of(ingest(tmp_path, path))
    examples = run.report["quality"]["outliers"]["checks"]["company.length"]["examples"]
    assert {"line": 42, "value": LONG_COMPANY} in examples


def test_value_too_long_is_quarantined_not_a_crashed_load(tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "too_long.csv")
    assert result.status == RunStatus.SUCCEEDED
    record = QuarantinedRecord.objects.get(run_id=result.run_id)
    assert (record.line_number, record.rule_codes) == (3, ["country.max_length"])
    assert record.raw is not None
    assert record.raw["Country"] == "x" * 120


def test_nul_byte_is_quarantined_not_a_crashed_load(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_text(SAMPLE.read_text().replace("Rasmussen Group", "Rasmussen\x00Group"))
    result = ingest(tmp_path, path)
    assert (result.status, result.counts.loaded, result.counts.quarantined) == (RunStatus.SUCCEEDED, 99, 1)
    record = QuarantinedRecord.objects.get(run_id=result.run_id)
    assert record.rule_codes == ["company.nul"]


def test_record_with_a_rule_failure_and_a_nul_byte_keeps_both_reasons_in_order(tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "storable.csv")
    assert (result.counts.read, result.counts.loaded, result.counts.quarantined) == (5, 2, 3)
    records = QuarantinedRecord.objects.filter(run_id=result.run_id).order_by("line_number")
    assert [(r.line_number, r.rule_codes) for r in records] == [
        (2, ["company.nul"]),
        (3, ["country.max_length", "email.pattern", "company.nul"]),
        (4, ["email.pattern"]),
    ]
    assert records[0].messages == ["company: contains a NUL byte, which PostgreSQL text cannot store"]
    assert records[1].messages[0] == (
        'country.max_length: "' + "x" * 60 + '…" is 120 characters long, more than 100'
    )
    assert records[1].raw is not None
    assert records[1].raw["Company"] == "Vega\u2400Gentry"


def test_report_failures_equal_the_quality_failure_counts(tmp_path: Path) -> None:
    report = run_of(ingest(tmp_path, CASES / "storable.csv")).report
    assert report["failures"] == {"company.nul": 2, "country.max_length": 1, "email.pattern": 2}
    quality = {code: entry["count"] for code, entry in report["quality"]["failures"].items()}
    assert quality == report["failures"]
    ragged = run_of(ingest(tmp_path / "ragged", CASES / "ragged.csv")).report
    assert ragged["failures"] == {"row.field_count": 2}
    assert {code: e["count"] for code, e in ragged["quality"]["failures"].items()} == ragged["failures"]


def test_duplicates_are_dropped_and_counted_last_occurrence_wins(tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "duplicates.csv")
    counts = result.counts
    assert (counts.read, counts.loaded, counts.duplicates, counts.quarantined) == (5, 3, 2, 0)
    assert Customer.objects.get(customer_id="1Ef7b82A4CAAD10").last_name == "Lozano-Smith"
    duplicates = run_of(result).report["duplicates"]
    assert (duplicates["exact"], duplicates["same_key"]) == (1, 1)


def test_missing_columns_reject_the_file_naming_them(tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "missing_columns.csv")
    assert result.status == RunStatus.REJECTED
    assert result.message == (
        "missing_columns.csv: rejected: missing required columns: "
        "last_name, company, city, country, phone_1, subscription_date"
    )
    assert run_of(result).error_message == result.message
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("empty.csv", "file is empty"),
        ("truncated.json", "JSON ends early (truncated file?) at line 3 column 63"),
    ],
)
def test_unreadable_files_are_rejected(tmp_path: Path, name: str, problem: str) -> None:
    result = ingest(tmp_path, CASES / name)
    assert (result.status, result.message) == (RunStatus.REJECTED, f"{name}: rejected: {problem}")


def test_binary_garbage_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 20)
    result = ingest(tmp_path, path)
    assert result.status == RunStatus.REJECTED
    assert "not a text file" in result.message


def test_header_only_file_succeeds_with_no_records(tmp_path: Path) -> None:
    result = ingest(tmp_path, CASES / "header_only.csv")
    assert (result.status, result.counts.read) == (RunStatus.SUCCEEDED, 0)
    assert run_of(result).warnings == [NO_RECORDS_WARNING]


@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\r", "\n\n\n"])
def test_a_header_without_records_succeeds_however_it_ends(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "header.csv"
    path.write_bytes(((CASES / "header_only.csv").read_text().rstrip("\r\n") + ending).encode())
    result = ingest(tmp_path, path)
    assert (result.status, result.counts.read) == (RunStatus.SUCCEEDED, 0), result.message
    assert run_of(result).warnings == [NO_RECORDS_WARNING]


def test_counts_identity_holds_with_every_kind_of_problem(tmp_path: Path) -> None:
    text = (CASES / "duplicates.csv").read_text() + "9,BADDATE1,a,b,c,d,e,f,,g,2020-02-31,\n1,2,3\n"
    path = tmp_path / "mixed.csv"
    path.write_text(text)
    counts = ingest(tmp_path, path).counts
    assert counts.read == counts.loaded + counts.duplicates + counts.quarantined == 7


def test_batches_smaller_than_the_file_give_the_same_result(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "many.csv", 2500)
    result = ingest(tmp_path, path, batch_size=100)
    assert (result.counts.read, result.counts.loaded) == (2500, 2500)
    assert Customer.objects.count() == 2500


def test_dry_run_writes_no_customers_and_does_not_count_as_loaded(tmp_path: Path) -> None:
    dry = ingest(tmp_path, SAMPLE, dry_run=True)
    assert (dry.status, dry.counts.inserted) == (RunStatus.SUCCEEDED, 100)
    assert not Customer.objects.exists()
    assert run_of(dry).dry_run
    assert ingest(tmp_path, SAMPLE).status == RunStatus.SUCCEEDED


def test_stale_running_run_of_a_dead_process_is_marked_failed_and_alerted_once(
    tmp_path: Path, settings: Any, http_recorder: HttpRecorder
) -> None:
    """A killed load is alerted by whoever finds it dead (it was only a failed row in a table)."""
    settings.SLACK_WEBHOOK_URL = f"{http_recorder.url}/hook"
    sha = "cd" * 32
    stale = run_start(source="local", filename="old.csv", sha256=sha, size=1)
    ingest(tmp_path, SAMPLE)
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED
    assert stale.error_message == STALE_RUN_MESSAGE.format(pid=stale.pid)
    [request] = http_recorder.wait_for(1)
    assert f"run {stale.pk}" in request.json()["text"]
    assert STALE_RUN_MESSAGE.format(pid=stale.pid) in request.json()["text"]
    ingest(tmp_path / "again", CASES / "semicolon.csv")
    alerts = AlertRecord.objects.filter(run_id=stale.pk)
    assert list(alerts.values_list("cause", flat=True)) == [AlertCause.RUN_FAILED]
    assert len(http_recorder.requests) == 1


class RecordingHook(HookBase):
    def __init__(self, *, fail_after_commit: bool = False) -> None:
        self.calls: list[str] = []
        self.rows = 0
        self.fail_after_commit = fail_after_commit

    def recover(self, ctx: StageContext) -> None:
        self.calls.append(f"recover:{ctx.run is None}")

    def after_fetch(self, ctx: StageContext) -> None:
        self.calls.append(f"after_fetch:{ctx.path.exists()}")

    def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
        self.rows += valid.height

    def in_commit(self, ctx: StageContext) -> None:
        assert ctx.run is not None
        self.calls.append(f"in_commit:{ctx.run.status}")  # before the status is written

    def after_commit(self, ctx: StageContext) -> None:
        assert ctx.run is not None
        self.calls.append(f"after_commit:{ctx.run.status}")
        if self.fail_after_commit:
            raise RuntimeError("lake down")


def test_hooks_see_fetch_batches_and_commit(tmp_path: Path) -> None:
    hook = RecordingHook()
    source = inbox_with(tmp_path, SAMPLE)
    ingest_file(source=source, name=SAMPLE.name, options=options_for(tmp_path), hooks=[hook])
    assert hook.calls == ["recover:True", "after_fetch:True", "in_commit:running", "after_commit:succeeded"]
    assert hook.rows == 100


def test_failing_after_commit_hook_is_a_warning_not_an_unload(tmp_path: Path) -> None:
    source = inbox_with(tmp_path, SAMPLE)
    hook = RecordingHook(fail_after_commit=True)
    result = ingest_file(source=source, name=SAMPLE.name, options=options_for(tmp_path), hooks=[hook])
    assert result.status == RunStatus.SUCCEEDED
    assert run_of(result).warnings == ["after commit: lake down"]
    assert Customer.objects.count() == 100


def test_a_failing_stage_fails_the_run_with_its_trace_and_loads_nothing(tmp_path: Path) -> None:
    class Broken(RecordingHook):
        def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
            raise RuntimeError("disk full")

    source = inbox_with(tmp_path, SAMPLE)
    result = ingest_file(source=source, name=SAMPLE.name, options=options_for(tmp_path), hooks=[Broken()])
    assert result.status == RunStatus.FAILED
    assert result.message == f"customers-100.csv: hooks failed: disk full (run {result.run_id})"
    run = run_of(result)
    assert "RuntimeError: disk full" in run.error_trace
    assert not Customer.objects.exists()


def test_an_error_whose_message_cannot_be_read_still_fails_the_run(tmp_path: Path) -> None:
    class JvmGone(Exception):  # a Py4J error after the JVM died: its text needs the JVM
        def __str__(self) -> str:
            raise ConnectionRefusedError(111, "Connection refused")

    class Broken(RecordingHook):
        def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
            raise JvmGone

    source = inbox_with(tmp_path, SAMPLE)
    result = ingest_file(source=source, name=SAMPLE.name, options=options_for(tmp_path), hooks=[Broken()])
    assert result.status == RunStatus.FAILED
    expected = "hooks failed: (its message could not be read: ConnectionRefusedError)"
    assert result.message == f"customers-100.csv: {expected} (run {result.run_id})"
    assert run_of(result).status == RunStatus.FAILED
    assert not Customer.objects.exists()


def test_missing_file_in_the_source_is_a_failed_run(tmp_path: Path) -> None:
    source = inbox_with(tmp_path)
    result = ingest_file(source=source, name="nope.csv", options=options_for(tmp_path), hooks=[])
    assert result.status == RunStatus.FAILED
    assert result.message.startswith("nope.csv: fetch failed: ")
    assert run_of(result).status == RunStatus.FAILED


def test_work_copy_is_what_was_read_and_goes_when_the_ingest_ends(tmp_path: Path) -> None:
    source = inbox_with(tmp_path, SAMPLE)
    result = ingest_file(source=source, name=SAMPLE.name, options=options_for(tmp_path), hooks=[])
    run = run_of(result)
    assert (run.sha256, run.size) == (hashlib.sha256(SAMPLE.read_bytes()).hexdigest(), SAMPLE.stat().st_size)
    assert os.listdir(tmp_path / "work" / "fetch") == []  # the copy went with its fetch folder


def test_lines_after_ragged_rows_are_exact_across_batches(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines()[:8]
    lines[2] = "2,short,row"  # line 3: ragged
    lines[5] = lines[5].replace(",", ",Long" + "g" * 80, 1)  # line 6: customer_id too long
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    result = ingest(tmp_path, path, batch_size=2)
    quarantined = QuarantinedRecord.objects.filter(run_id=result.run_id).order_by("line_number")
    assert [(q.line_number, q.rule_codes[0]) for q in quarantined] == [
        (3, "row.field_count"),
        (6, "customer_id.max_length"),
    ]


def test_a_trailing_delimiter_is_one_unnamed_extra_column(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("".join(f"{line},\n" for line in SAMPLE.read_text().splitlines()[:4]))
    run = run_of(ingest(tmp_path, path))
    assert (run.status, run.rows_loaded, run.rows_quarantined) == (RunStatus.SUCCEEDED, 3, 0)
    assert run.report["extra_columns"] == ["column_13"]
