"""A ``unique`` rule on a field other than the key, over the whole file (dataflow/quality/repeats.py):
counted before the batches, so a value repeated across batches is caught like one within a batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from customers.models import Customer
from dataflow.columns import REPEATED_PREFIX
from dataflow.quality import messages as msg
from dataflow.quality.batch import batch_check, quality_setup
from dataflow.quality.repeats import RepeatCounter, unique_fields, with_repeated
from dataflow.schema import SCHEMA_DIR, Schema, load_schema, parse_schema
from dataflow.tests.quality_factories import one_field
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from ingestion.pipeline import ingest_file
from testsupport.ingest import HEADER, customer_lines, inbox_with, options_for


def schema_with_unique(field: str) -> Schema:
    """The shipped customers schema with ``unique: true`` added to ``field``."""
    document = yaml.safe_load((SCHEMA_DIR / "customers.yaml").read_text())
    for spec in document["fields"]:
        if spec["name"] == field:
            spec.setdefault("rules", []).append({"unique": True})
    return parse_schema(document, where="test")


def emails_repeated_across(tmp_path: Path) -> Path:
    """Four customers; the fourth has the first one's email (lines 2 and 5)."""
    lines = customer_lines(4)
    lines[3] = lines[3].replace("user4@example.com", "user1@example.com")
    path = tmp_path / "emails.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def ingest_with(tmp_path: Path, path: Path, schema: Schema, **options: Any) -> IngestionRun:
    result = ingest_file(
        source=inbox_with(tmp_path, path),
        name=path.name,
        options=options_for(tmp_path, **options),
        hooks=[],
        schema=schema,
    )
    assert result.run_id is not None
    return IngestionRun.objects.get(pk=result.run_id)


def test_only_fields_other_than_the_key_are_counted() -> None:
    assert unique_fields(quality_setup(schema=schema_with_unique("email")).ruleset) == ["email"]
    assert unique_fields(quality_setup(schema=load_schema()).ruleset) == []  # the key's own is resolved


def test_values_repeated_in_different_batches_are_found() -> None:
    counter = RepeatCounter(["v"])
    counter.add(pl.DataFrame({"v": ["a", "b", None]}))
    counter.add(pl.DataFrame({"v": ["c", "a", None]}))
    counter.add(pl.DataFrame({"v": ["d", "d"]}))
    assert sorted(counter.repeated()["v"].to_list()) == ["a", "d"]


def test_a_batch_marked_with_the_files_repeats_fails_the_rule_on_them() -> None:
    rules = one_field({"name": "v", "type": "string", "rules": [{"unique": True}]})
    batch = pl.DataFrame({"v": ["a", "b"], "__line__": [7, 8]})
    marked = with_repeated(batch, {"v": pl.Series(["a"])})
    assert marked[REPEATED_PREFIX + "v"].to_list() == [True, False]
    result = batch_check(clean=marked, ruleset=rules)
    assert [(e.line_number, e.messages) for e in result.quarantined] == [
        (7, [f'v.unique: "a" {msg.NOT_UNIQUE}'])
    ]
    assert REPEATED_PREFIX + "v" not in result.valid.columns


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [1000, 2, 1])
def test_every_record_sharing_a_value_is_quarantined_whatever_the_batches(
    tmp_path: Path, batch_size: int
) -> None:
    run = ingest_with(
        tmp_path, emails_repeated_across(tmp_path), schema_with_unique("email"), batch_size=batch_size
    )
    assert run.status == RunStatus.SUCCEEDED
    assert (run.rows_read, run.rows_loaded, run.rows_quarantined) == (4, 2, 2)
    quarantined = QuarantinedRecord.objects.filter(run=run).order_by("line_number")
    assert [(r.line_number, r.rule_codes) for r in quarantined] == [
        (2, ["email.unique"]),
        (5, ["email.unique"]),
    ]
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "user2@example.com",
        "user3@example.com",
    ]
    assert run.report["failures"] == {"email.unique": 2}
    assert "count_repeated" in run.report["seconds"]


@pytest.mark.django_db
def test_a_schema_without_such_a_rule_reads_the_file_once(tmp_path: Path) -> None:
    run = ingest_with(tmp_path, emails_repeated_across(tmp_path), load_schema(), batch_size=2)
    assert (run.rows_loaded, run.rows_quarantined) == (4, 0)
    assert "count_repeated" not in run.report["seconds"]
