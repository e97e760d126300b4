"""CSV exports never hand a spreadsheet a formula: dataflow.csv_safe, the quarantine CSV, lake query CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dataflow.csv_safe import csv_cell
from dataflow.quality.report import quarantine_write_csv
from ingestion.models import IngestionRun, QuarantinedRecord
from ingestion.quality_selectors import quarantine_for_runs
from lake.query import rows_render


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1-555-0100", "'+1-555-0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12", "-12"),
        ("+3.5", "+3.5"),
        ("alice@example.com", "alice@example.com"),
        (42, 42),
        (None, None),
    ],
)
def test_formula_leading_text_is_escaped_and_numbers_are_not(value: object, written: object) -> None:
    assert csv_cell(value) == written


@pytest.mark.django_db
def test_quarantine_csv_escapes_every_partner_value(tmp_path: Path) -> None:
    run = IngestionRun.objects.create(source="local", filename="=evil.csv", status="succeeded")
    QuarantinedRecord.objects.create(
        run=run,
        line_number=2,
        raw_text="=cmd|' /C calc'!A0",
        rule_codes=["row.field_count"],
        messages=["-expected 12 fields"],
    )
    path = tmp_path / "q.csv"
    quarantine_write_csv(rows=quarantine_for_runs(run_ids=[run.pk]), path=path)
    with path.open(newline="") as fh:
        header, row = list(csv.reader(fh))
    values = dict(zip(header, row, strict=True))
    assert values["file"] == "'=evil.csv"
    assert values["raw_text"] == "'=cmd|' /C calc'!A0"
    assert values["messages"] == "'-expected 12 fields"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_lake_query_csv_escapes_formula_cells() -> None:
    text = rows_render(["city", "n"], [{"city": "=1+1", "n": -3}], fmt="csv")
    assert text.splitlines() == ["city,n", "'=1+1,-3"]
