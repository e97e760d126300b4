"""The quality stage as the pipeline calls it: counts, duplicates, verdict, typed output."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dataflow.quality import LINE_COLUMN, Outcome, QualityStageError, Thresholds, quality_check
from dataflow.quality.stage import CAST_WITHOUT_TEXT
from dataflow.tests.quality_factories import frame, one_field

TODAY = date(2026, 11, 27)
SAMPLE = Path(__file__).resolve().parents[2] / "scripts" / "downloads" / "customers-100.csv"


def _sample() -> pl.DataFrame:
    data = pl.read_csv(SAMPLE, infer_schema=False)
    data = data.rename({c: c.lower().replace(" ", "_") for c in data.columns})
    return data.with_row_index(LINE_COLUMN, offset=2)


def _customer(**changes: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "index": "1",
        "customer_id": "ABCdef123",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Engines Ltd",
        "city": "London",
        "country": "United Kingdom",
        "phone_1": "+44 20 7946 0000",
        "phone_2": None,
        "email": "ada@engines.co.uk",
        "subscription_date": "2021-05-04",
        "website": "https://engines.co.uk/",
    }
    return {**row, **changes}


def test_sample_file_passes_every_shipped_rule() -> None:
    result = quality_check(_sample(), today=TODAY)
    assert (result.read, len(result.valid), result.duplicates, result.quarantined) == (100, 100, 0, [])
    assert result.verdict.outcome == Outcome.OK
    assert result.warnings == []


def test_valid_rows_come_back_typed() -> None:
    valid = quality_check(_sample(), today=TODAY).valid
    assert valid.schema["index"] == pl.Int64
    assert valid.schema["subscription_date"] == pl.Date
    assert valid.filter(pl.col(LINE_COLUMN) == 2)["subscription_date"].item() == date(2020, 8, 24)


def test_later_duplicate_key_wins_and_earlier_counts_as_duplicate() -> None:
    rows = [_customer(first_name="Old"), _customer(customer_id="Other1"), _customer(first_name="New")]
    result = quality_check(frame(rows), today=TODAY)
    assert result.duplicates == 1
    assert sorted(result.valid["first_name"].to_list()) == ["Ada", "New"]


def test_invalid_last_occurrence_still_supersedes_the_earlier_one() -> None:
    rows = [_customer(), _customer(email="nope")]
    result = quality_check(frame(rows), today=TODAY)
    assert (len(result.valid), result.duplicates, len(result.quarantined)) == (0, 1, 1)
    assert result.quarantined[0].line_number == 3


def test_counts_identity_holds_with_duplicates_and_failures() -> None:
    rows = [_customer(customer_id=f"Cust{i:04d}") for i in range(20)]
    rows += [_customer(customer_id="Cust0001"), _customer(customer_id="Cust9999", email="x")]
    result = quality_check(frame(rows), today=TODAY, thresholds=Thresholds(warn_above=50, reject_above=50))
    assert result.read == len(result.valid) + result.duplicates + len(result.quarantined) == 22
    assert (result.duplicates, len(result.quarantined)) == (1, 1)


def test_three_percent_bad_records_warn_and_quarantine_exactly_those() -> None:
    rows = [_customer(customer_id=f"Cust{i:04d}") for i in range(100)]
    for i in (10, 50, 90):
        rows[i]["email"] = "not-an-email"
    result = quality_check(frame(rows), today=TODAY)
    assert [e.line_number for e in result.quarantined] == [12, 52, 92]
    assert result.verdict.outcome == Outcome.WARN
    assert result.warnings == [result.verdict.message]
    assert result.failures == {"email.pattern": 3}
    assert result.examples == {"email.pattern": 'email.pattern: "not-an-email" is not an email address'}


def test_over_reject_above_is_rejected() -> None:
    rows = [_customer(customer_id=f"Cust{i:04d}", index="x" if i < 11 else "1") for i in range(100)]
    result = quality_check(frame(rows), today=TODAY)
    assert result.rejected
    assert len(result.quarantined) == 11


def test_records_set_aside_by_the_reader_count_towards_the_verdict() -> None:
    rows = [_customer(customer_id=f"Cust{i:04d}") for i in range(95)]
    result = quality_check(frame(rows), today=TODAY, set_aside=5)
    assert (result.verdict.invalid, result.verdict.total) == (5, 100)
    assert result.verdict.outcome == Outcome.WARN


def test_quarantined_raw_record_keeps_the_original_text() -> None:
    result = quality_check(frame([_customer(index="12x")]), today=TODAY)
    (entry,) = result.quarantined
    assert entry.raw is not None
    assert (entry.raw["index"], entry.raw["email"]) == ("12x", "ada@engines.co.uk")
    assert entry.rule_codes == ["index.type"]


def test_raw_record_column_is_used_as_the_records_raw() -> None:
    original = {"Customer Id": "ABCdef123", "Index": "12x"}
    data = frame([_customer(index="12x")]).with_columns(pl.lit(json.dumps(original)).alias("_raw"))
    (entry,) = quality_check(data, today=TODAY).quarantined
    assert entry.raw == original


def test_type_failure_quotes_the_raw_column_when_the_transform_already_cast() -> None:
    data = frame([_customer(index="12x"), _customer(customer_id="Other1", index="7")])
    data = data.with_columns(
        pl.col("index").alias("_raw_index"), pl.col("index").cast(pl.Int64, strict=False)
    )
    result = quality_check(data, today=TODAY)
    assert result.quarantined[0].messages == ['index.type: "12x" is not an integer']
    assert result.valid["index"].to_list() == [7]


def test_raw_text_is_trimmed_before_it_is_judged() -> None:
    data = frame([_customer()]).with_columns(
        pl.lit(" 42 ").alias("_raw_index"), pl.lit(42, dtype=pl.Int64).alias("index")
    )
    result = quality_check(data, today=TODAY)
    assert (len(result.valid), result.valid["index"].to_list()) == (1, [42])


def test_cast_field_without_its_text_is_refused() -> None:
    data = frame([_customer()]).with_columns(pl.col("index").cast(pl.Int64))
    with pytest.raises(QualityStageError) as caught:
        quality_check(data, today=TODAY)
    assert str(caught.value) == CAST_WITHOUT_TEXT.format(field="index", dtype="Int64", raw="_raw_index")


def test_a_nul_byte_fails_after_the_fields_declared_rules() -> None:
    data = frame([_customer(email="x", company="Engines\x00Ltd"), _customer(customer_id="Other1")])
    result = quality_check(data, today=TODAY, thresholds=Thresholds(warn_above=50, reject_above=50))
    (entry,) = result.quarantined
    assert entry.rule_codes == ["email.pattern", "company.nul"]
    assert entry.messages == [
        'email.pattern: "x" is not an email address',
        "company: contains a NUL byte, which PostgreSQL text cannot store",
    ]
    assert len(result.valid) == 1


def test_a_nul_byte_alone_quarantines_the_record() -> None:
    result = quality_check(frame([_customer(city="Lon\x00don")]), today=TODAY)
    assert [e.rule_codes for e in result.quarantined] == [["city.nul"]]
    assert result.failures == {"city.nul": 1}


def test_absent_optional_column_passes_and_absent_required_column_fails() -> None:
    data = frame([_customer()]).drop("website", "email")
    (entry,) = quality_check(data, today=TODAY).quarantined
    assert entry.rule_codes == ["email.required"]


def test_frame_without_line_column_is_refused() -> None:
    with pytest.raises(QualityStageError, match="no line-number column '__line__'"):
        quality_check(pl.DataFrame({"v": ["a"]}), ruleset=one_field({}))


def test_report_lists_failures_with_an_example_each() -> None:
    rows = [_customer(customer_id=f"Cust{i:04d}") for i in range(10)] + [
        _customer(customer_id="bad", email="x")
    ]
    report = quality_check(
        frame(rows), today=TODAY, thresholds=Thresholds(warn_above=50, reject_above=50)
    ).report()
    assert report["failures"] == {
        "customer_id.pattern": {
            "count": 1,
            "example": 'customer_id.pattern: "bad" is not 6 to 64 letters and digits',
        },
        "email.pattern": {"count": 1, "example": 'email.pattern: "x" is not an email address'},
    }
    assert (report["read"], report["valid"], report["quarantined"]) == (11, 10, 1)
