"""The stage as the pipeline runs it: per batch, original text joined back, one verdict per file."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dataflow.quality import LINE_COLUMN, Outcome, Thresholds, load_ruleset
from dataflow.quality import messages as msg
from dataflow.quality.batch import QualityTally, batch_check, quality_setup
from dataflow.tests.quality_factories import frame, one_field
from dataflow.tests.test_quality_stage import _customer

TODAY = date(2026, 11, 27)


def _cast(text: pl.DataFrame) -> pl.DataFrame:
    """What the transform hands on: integer and date cast (null when they do not parse)."""
    return text.with_columns(
        pl.col("index").cast(pl.Int64, strict=False),
        pl.col("subscription_date").str.to_date("%Y-%m-%d", strict=False),
    )


def test_batch_check_quotes_the_original_text_of_a_cast_field() -> None:
    text = frame([_customer(index="12x"), _customer(customer_id="Other1")])
    result = batch_check(clean=_cast(text), text=text, ruleset=load_ruleset(), today=TODAY)
    assert result.quarantined[0].messages == ['index.type: "12x" is not an integer']
    assert "_raw_index" not in result.valid.columns


def test_batch_check_leaves_duplicate_keys_to_the_load() -> None:
    text = frame([_customer(), _customer(first_name="Later")])
    result = batch_check(clean=_cast(text), text=text, ruleset=load_ruleset(), today=TODAY)
    assert (len(result.valid), result.duplicates) == (2, 0)


def test_quarantined_frame_has_line_codes_and_messages_lists() -> None:
    text = frame([_customer(email="x", index="-1")])
    result = batch_check(clean=_cast(text), text=text, ruleset=load_ruleset(), today=TODAY)
    quarantined = result.quarantined_frame()
    assert quarantined.columns == [LINE_COLUMN, "__codes__", "__messages__"]
    assert quarantined.row(0) == (
        2,
        ["index.range", "email.pattern"],
        ['index.range: "-1" is less than 0', 'email.pattern: "x" is not an email address'],
    )


def test_batch_check_flags_too_long_and_nul_like_the_table_would() -> None:
    text = frame([_customer(city="x" * 101, company="A\x00B")])
    result = batch_check(clean=_cast(text), text=text, ruleset=load_ruleset(), today=TODAY)
    assert sorted(result.quarantined[0].rule_codes) == ["city.max_length", "company.nul"]


def test_tally_adds_batches_and_decides_on_the_whole_file() -> None:
    rules = load_ruleset()
    tally = QualityTally(ruleset=rules, thresholds=rules.thresholds)
    for bad_email in ("x", None):  # one bad record in the first batch only
        text = frame(
            [_customer(customer_id=f"Cust{i:04d}", email=bad_email if i == 0 else None) for i in range(50)]
        )
        text = text.with_columns(pl.col("email").fill_null("ok@example.com"))
        tally.add(batch_check(clean=_cast(text), text=text, ruleset=rules, today=TODAY))
    tally.add_problem(code="row.field_count", message="expected 12 fields, found 3")
    verdict = tally.verdict(read=101, invalid=2)
    assert verdict.outcome == Outcome.WARN
    assert tally.warnings(verdict) == [verdict.message]
    report = tally.report(verdict)
    assert report["failures"] == {
        "email.pattern": {"count": 1, "example": 'email.pattern: "x" is not an email address'},
        "row.field_count": {"count": 1, "example": "expected 12 fields, found 3"},
    }
    assert (report["read"], report["invalid"], report["outcome"]) == (101, 2, "warn")


def test_tally_warns_when_the_files_outlier_share_passes_its_threshold() -> None:
    rules = one_field(
        {"type": "integer"}, quality={"outliers": {"checks": [{"field": "v", "iqr": 1.5}], "warn_above": 10}}
    )
    tally = QualityTally(ruleset=rules, thresholds=Thresholds())
    text = frame([{"id": f"i{n}", "v": v} for n, v in enumerate(["10", "11", "12", "13", "14", "15", "900"])])
    tally.add(batch_check(clean=text, text=text, ruleset=rules, today=TODAY))
    verdict = tally.verdict(read=7, invalid=0)
    assert tally.warnings(verdict) == [
        msg.WARN_OUTLIER_SHARE.format(flagged=1, total=7, share=100 / 7, warn=10)
    ]
    assert tally.report(verdict)["outliers"]["checks"]["v.outlier"]["examples"] == [
        {"line": 8, "value": "900"}
    ]


def test_quality_setup_applies_the_runs_formats_and_overrides() -> None:
    tally = quality_setup(schema=load_ruleset().schema, extra_date_formats=("%d/%m/%Y",), reject_above=50)
    assert (tally.thresholds.warn_above, tally.thresholds.reject_above) == (1.0, 50.0)
    text = frame([_customer(subscription_date="24/08/2020")])
    result = batch_check(clean=_cast(text), text=text, ruleset=tally.ruleset, today=TODAY)
    assert result.quarantined == []


def test_quality_setup_refuses_an_inverted_override() -> None:
    with pytest.raises(ValueError, match="must not be greater than reject_above"):
        quality_setup(schema=load_ruleset().schema, warn_above=20)
