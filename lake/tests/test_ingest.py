"""The lake inside ``manage.py ingest``: raw copy, processed records, curated tables, failures repaired."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import IngestionRun, LakeStatus, QuarantinedRecord, RunStatus
from lake import lake_processed_read, lake_raw_read, lake_raw_receipts
from lake.config import lake_config
from lake.maintenance import lake_snapshots
from lake.tests.support import curated_as_pg, curated_rows, pg_rows

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).resolve().parents[2] / "scripts" / "downloads" / "customers-100.csv"
HEADER, *LINES = SAMPLE.read_text().splitlines()


def _file(tmp_path: Path, name: str, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "inbox" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def _ingest(path: Path, *args: str) -> IngestionRun:
    with contextlib.suppress(CommandError):  # rejected/failed runs exit non-zero: asserted on the run
        call_command("ingest", "--path", str(path), *args, stdout=io.StringIO(), stderr=io.StringIO())
    return IngestionRun.objects.latest("id")


def test_ingest_keeps_the_raw_bytes_and_publishes_the_run(lake_on, tmp_path) -> None:
    path = tmp_path / SAMPLE.name
    shutil.copyfile(SAMPLE, path)
    run = _ingest(path)

    config = lake_config()
    assert run.status == RunStatus.SUCCEEDED
    assert run.lake_status == LakeStatus.SUCCEEDED
    assert lake_raw_read(sha256=run.sha256, config=config) == SAMPLE.read_bytes()
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() == run.sha256
    assert [r["run_id"] for r in lake_raw_receipts(sha256=run.sha256, config=config)] == [run.pk]
    assert lake_processed_read(run_id=run.pk, config=config).height == 100
    snapshots = lake_snapshots(table_name="curated.customers", config=config)
    assert [s["run_id"] for s in snapshots] == [run.pk]
    assert run.lake_snapshot_id is not None  # the run's report page shows it
    assert curated_as_pg(config) == pg_rows()


def test_runs_that_insert_update_and_quarantine_leave_curated_equal_to_customers(lake_on, tmp_path) -> None:
    _ingest(_file(tmp_path, "first.csv", LINES[:10]))
    updated = [line.replace(",Chile,", ",Peru,") for line in LINES[:3]]
    missing_key = "999,,Ann,Bee,Co,Town,Chile,123,,ann@example.com,2021-01-01,"
    # 1 bad record of 6 is above the default reject_above (10%): this test is about the lake.
    second = _ingest(
        _file(tmp_path, "second.csv", [*updated, *LINES[10:12], missing_key]), "--reject-above", "100"
    )

    config = lake_config()
    assert (second.status, second.lake_status, second.rows_quarantined) == ("succeeded", "succeeded", 1)
    assert curated_as_pg(config) == pg_rows()
    assert len(pg_rows()) == 12
    assert [s["run_id"] for s in lake_snapshots(table_name="curated.customers", config=config)][
        -1
    ] == second.pk
    quality = [r for r in curated_rows(config, "data_quality") if r["run_id"] == second.pk]
    codes = Counter(c for q in QuarantinedRecord.objects.filter(run=second) for c in q.rule_codes)
    assert {r["rule"]: r["failures"] for r in quality} == dict(codes)
    assert sum(codes.values()) >= 1


def test_extra_columns_reach_the_processed_zone(lake_on, tmp_path) -> None:
    lines = [f"{line},gold" for line in LINES[:2]]
    run = _ingest(_file(tmp_path, "extra.csv", lines, header=f"{HEADER},Loyalty Tier"))

    processed = lake_processed_read(run_id=run.pk, config=lake_config())
    extra = next(c for c in processed.columns if "loyalty" in c.lower())
    assert processed.get_column(extra).to_list() == ["gold", "gold"]


def test_processed_records_keep_the_keys_a_later_batch_adds_by_the_files_mapping(lake_on, tmp_path) -> None:
    # Batch 2 has no "Website" but "links.website", and a new key "note": the file's mapping reads
    # website from "Website", so both feed no field and are kept as extra columns (as on Spark).
    first = {**dict(zip(HEADER.split(","), LINES[0].split(","), strict=True)), "Website": "https://a.io"}
    second: dict[str, object] = dict(zip(HEADER.split(","), LINES[1].split(","), strict=True))
    second.pop("Website")
    second["links"] = {"website": "https://b.io"}
    second["note"] = "vip"
    path = tmp_path / "inbox" / "later-key.ndjson"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(json.dumps(record) for record in (first, second)) + "\n")

    run = _ingest(path, "--batch-size", "1")

    assert (run.status, run.rows_loaded) == (RunStatus.SUCCEEDED, 2)
    assert run.lake_status == LakeStatus.SUCCEEDED, run.lake_error
    assert run.report["extra_columns"] == ["links.website", "note"]
    processed = lake_processed_read(run_id=run.pk).sort("source_line")
    assert processed.get_column("links.website").to_list() == [None, "https://b.io"]
    assert processed.get_column("note").to_list() == [None, "vip"]
    assert processed.get_column("website").to_list() == ["https://a.io", None]


def test_processed_records_after_a_ragged_or_blank_row_keep_their_line_in_the_file(lake_on, tmp_path) -> None:
    ragged = "2,Short,Row"  # set aside by the reader: the lines after it were provisional
    path = _file(tmp_path, "ragged.csv", [LINES[0], ragged, LINES[2], "", LINES[3]])
    run = _ingest(path, "--batch-size", "2", "--reject-above", "100")

    assert (run.status, run.lake_status) == (RunStatus.SUCCEEDED, LakeStatus.SUCCEEDED), run.lake_error
    processed = lake_processed_read(run_id=run.pk).sort("source_line")
    assert processed.get_column("source_line").to_list() == [2, 4, 6]
    assert processed.get_column("index").to_list() == [1, 3, 4]
    assert [q.line_number for q in QuarantinedRecord.objects.filter(run=run)] == [3]


def test_a_rejected_file_keeps_its_raw_copy_and_publishes_nothing(lake_on, tmp_path) -> None:
    path = _file(tmp_path, "bad.csv", ["1,2,3"], header="a,b,c")
    run = _ingest(path)

    assert run.status == RunStatus.REJECTED
    assert lake_raw_read(sha256=run.sha256, config=lake_config()) == path.read_bytes()
    assert run.lake_status == LakeStatus.NOT_RUN


def test_a_lake_failure_after_commit_is_recorded_then_repaired_by_the_next_ingest(lake_on, tmp_path) -> None:
    lake_on.LAKE_CATALOG_URI = f"postgresql+psycopg:///nowhere?host={tmp_path}/no-socket"  # catalog down
    failed = _ingest(_file(tmp_path, "first.csv", LINES[:5]))
    assert (failed.status, failed.lake_status) == (RunStatus.SUCCEEDED, LakeStatus.FAILED)
    assert failed.lake_error.startswith(f"lake: run {failed.pk}: ")
    assert len(pg_rows()) == 5  # the load stands

    lake_on.LAKE_CATALOG_URI = ""
    repairing = _ingest(_file(tmp_path, "second.csv", LINES[5:7]))

    failed.refresh_from_db()
    assert (repairing.lake_status, failed.lake_status) == (LakeStatus.SUCCEEDED, LakeStatus.REPAIRED)
    assert curated_as_pg(lake_config()) == pg_rows()


def test_a_dry_run_publishes_nothing(lake_on, tmp_path) -> None:
    run = _ingest(_file(tmp_path, "dry.csv", LINES[:3]), "--dry-run")
    assert run.lake_status == LakeStatus.NOT_RUN
    assert not (Path(lake_on.LAKE_URI) / "processed").exists()


def test_spools_of_runs_that_are_over_are_cleared_at_the_next_fetch(lake_on, tmp_path) -> None:
    _ingest(_file(tmp_path, "bad.csv", ["1,2,3"], header="a,b,c"))
    stale = Path(lake_on.INGEST_WORK_DIR) / ".lake-spool" / "run-1"
    stale.mkdir(parents=True)
    (stale / "part-00000.parquet").write_bytes(b"left by a run that failed")
    _ingest(_file(tmp_path, "good.csv", LINES[:2]))
    assert not stale.exists()


def test_a_raw_copy_that_cannot_be_kept_fails_the_run_before_processing(lake_on, tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    lake_on.LAKE_URI = str(blocker)
    run = _ingest(_file(tmp_path, "first.csv", LINES[:3]))

    assert run.status == RunStatus.FAILED
    assert "lake raw copy failed" in run.error_message
    assert pg_rows() == []


def test_processed_records_that_cannot_be_spooled_fail_the_lake_step_not_the_load(lake_on, tmp_path) -> None:
    work = Path(lake_on.INGEST_WORK_DIR)
    work.mkdir(parents=True)
    (work / ".lake-spool").write_text("")  # the spool folder cannot be created
    run = _ingest(_file(tmp_path, "first.csv", LINES[:3]))

    assert (run.status, run.lake_status) == (RunStatus.SUCCEEDED, LakeStatus.FAILED)
    assert run.lake_error.startswith(f"lake: run {run.pk}: processed records: ")
    assert len(pg_rows()) == 3

    (work / ".lake-spool").unlink()
    _ingest(_file(tmp_path, "second.csv", LINES[3:4]))
    run.refresh_from_db()
    assert run.lake_status == LakeStatus.REPAIRED
    assert curated_as_pg(lake_config()) == pg_rows()
