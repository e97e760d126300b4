"""Publishing a staged file (ingestion/publish.py): a key whose last record in the file was
quarantined is not loaded, and its earlier records count as duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from customers.models import Customer
from ingestion.models import QuarantinedRecord, RunStatus
from ingestion.publish import SUPERSEDED_WARNING
from testsupport.ingest import CASES, HEADER, ingest, run_of

pytestmark = pytest.mark.django_db

LAST_QUARANTINED = CASES / "last_quarantined.csv"
"""Superseded001: valid, then quarantined (bad email); Kept00000002: valid once; ValidLast003:
quarantined, then valid; Superseded004: valid twice (the same), then quarantined (no such date)."""
ANN_NEWER = "1,Superseded001,Ann,Lee,Acme,Oslo,Norway,5153435776,,ann.new@example.com,2024-05-01,"


def _csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def test_a_key_whose_last_record_is_quarantined_is_not_loaded(tmp_path: Path) -> None:
    result = ingest(tmp_path, LAST_QUARANTINED)
    counts = result.counts
    assert result.status == RunStatus.SUCCEEDED
    assert (counts.read, counts.loaded, counts.duplicates, counts.quarantined) == (8, 2, 3, 3)
    assert counts.read == counts.loaded + counts.duplicates + counts.quarantined
    assert sorted(Customer.objects.values_list("customer_id", flat=True)) == ["Kept00000002", "ValidLast003"]
    assert Customer.objects.get(customer_id="ValidLast003").email == "cy@example.com"
    run = run_of(result)
    assert run.report["duplicates"] == {
        "exact": 1,
        "same_key": 2,
        "superseded_by_quarantine": 2,
        "keys": [
            {"key": "Superseded001", "count": 1, "lines": [2], "quarantined_line": 4},
            {"key": "Superseded004", "count": 2, "lines": [7, 8], "quarantined_line": 9},
        ],
    }
    assert SUPERSEDED_WARNING.format(count=2, key="customer_id") in run.warnings
    quarantined = QuarantinedRecord.objects.filter(run=run).order_by("line_number")
    assert list(quarantined.values_list("line_number", flat=True)) == [4, 5, 9]


def test_an_older_record_never_overwrites_newer_data_when_the_newest_is_quarantined(tmp_path: Path) -> None:
    ingest(tmp_path / "first", _csv(tmp_path / "first.csv", ANN_NEWER))
    before = Customer.objects.values().get(customer_id="Superseded001")
    result = ingest(tmp_path / "second", LAST_QUARANTINED)
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (2, 0, 0)
    assert Customer.objects.values().get(customer_id="Superseded001") == before


def test_a_dry_run_counts_a_superseded_key_as_the_load_does(tmp_path: Path) -> None:
    ingest(tmp_path / "first", _csv(tmp_path / "first.csv", ANN_NEWER))
    result = ingest(tmp_path / "second", LAST_QUARANTINED, dry_run=True)
    counts = result.counts
    assert (counts.loaded, counts.inserted, counts.updated, counts.duplicates) == (2, 2, 0, 3)
    assert Customer.objects.get(customer_id="Superseded001").email == "ann.new@example.com"


def test_the_bulk_path_leaves_a_superseded_key_out_too(tmp_path: Path, settings: Any) -> None:
    settings.INGEST_BULK_MIN_ROWS = 1
    run = run_of(ingest(tmp_path, LAST_QUARANTINED))
    assert run.report["load"]["path"] == "bulk"
    assert sorted(Customer.objects.values_list("customer_id", flat=True)) == ["Kept00000002", "ValidLast003"]


def test_lines_fixed_after_a_ragged_row_still_tell_which_record_came_last(tmp_path: Path) -> None:
    lines = LAST_QUARANTINED.read_text().splitlines()
    path = _csv(tmp_path / "ragged.csv", lines[1], "only,three,fields", "", lines[3], lines[2])
    result = ingest(tmp_path, path)
    assert (result.counts.read, result.counts.loaded, result.counts.quarantined) == (4, 1, 2)
    assert list(Customer.objects.values_list("customer_id", flat=True)) == ["Kept00000002"]
    keys = run_of(result).report["duplicates"]["keys"]
    assert keys == [{"key": "Superseded001", "count": 1, "lines": [2], "quarantined_line": 5}]


def test_a_record_set_aside_unread_supersedes_nothing(tmp_path: Path) -> None:
    lines = LAST_QUARANTINED.read_text().splitlines()
    path = _csv(tmp_path / "unread.csv", lines[1], lines[3] + ",one,field,too,many")
    result = ingest(tmp_path, path)
    assert (result.counts.loaded, result.counts.duplicates, result.counts.quarantined) == (1, 0, 1)
    assert Customer.objects.get(customer_id="Superseded001").email == "ann.old@example.com"
