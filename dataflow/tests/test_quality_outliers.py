"""Outliers: flagged, counted, shown with examples; never rejected."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import narwhals as nw
import polars as pl
import pytest

from dataflow.quality import LINE_COLUMN, quality_check
from dataflow.quality import messages as msg
from dataflow.quality.outliers import (
    OutlierCheck,
    OutlierConfig,
    days_since_epoch,
    outliers_by_batch,
    outliers_find,
)
from dataflow.tests.quality_factories import column, one_field

TODAY = date(2026, 11, 27)


def _find(values: list[Any], *checks: OutlierCheck, warn_above: float = 100) -> Any:
    data = pl.DataFrame({"v": values}).with_row_index(LINE_COLUMN, offset=2)
    config = OutlierConfig(checks=checks, warn_above=warn_above, examples=2)
    return outliers_find(nw.from_native(data), config=config, line_column=LINE_COLUMN)


def test_days_since_epoch_matches_the_calendar() -> None:
    days = [date(1970, 1, 1), date(2000, 2, 29), date(1969, 12, 31), date(2026, 11, 27), date(1600, 3, 1)]
    days += [date(1, 1, 1), date(1900, 3, 1), date(2100, 12, 31), date(2400, 2, 29), date(9999, 12, 31)]
    days += [date(1970, 1, 1) + timedelta(days=n) for n in range(-719_000, 2_932_000, 1_009)]
    frame = nw.from_native(pl.DataFrame({"d": days}))
    assert frame.select(days_since_epoch(nw.col("d")))["d"].to_list() == [
        (d - date(1970, 1, 1)).days for d in days
    ]


def test_iqr_flags_values_outside_the_fences_with_examples() -> None:
    report = _find([10, 11, 12, 13, 14, 15, 1000], OutlierCheck("v", "iqr", 1.5, "integer"))
    (check,) = report.checks
    assert (report.flagged, check.flagged) == (1, 1)
    assert check.examples == [{"line": 8, "value": "1000"}]
    assert (check.low, check.high) == (7.0, 19.0)  # Q1 11.5, Q3 14.5 (linear), IQR 3


def test_iqr_on_dates_reports_fences_as_dates() -> None:
    days = [date(2020, 1, d) for d in range(1, 11)] + [date(1990, 6, 1)]
    report = _find(days, OutlierCheck("v", "iqr", 1.5, "date"))
    result = report.checks[0].as_report()
    assert result["flagged"] == 1
    assert result["examples"] == [{"line": 12, "value": "1990-06-01"}]
    assert result["fences"] == ["2019-12-26", "2020-01-15"]  # Q1 01-02½, Q3 01-07½, IQR 5 days


def test_length_iqr_flags_an_unusually_long_string() -> None:
    report = _find(["abcd", "abcde", "abc", "abcd", "x" * 80], OutlierCheck("v", "length_iqr", 3, "string"))
    assert report.checks[0].examples == [{"line": 6, "value": "x" * 80}]


def test_rare_values_are_flagged_from_min_rows_on() -> None:
    values = ["FR"] * 99 + ["XX"]
    report = _find(values, OutlierCheck("v", "rare_below", 2, "string", min_rows=100))
    assert (report.flagged, report.checks[0].examples) == (1, [{"line": 101, "value": "XX"}])


def test_rare_check_is_skipped_below_min_rows() -> None:
    report = _find(["FR", "XX"], OutlierCheck("v", "rare_below", 50, "string", min_rows=100))
    assert (report.flagged, report.checks[0].skipped) == (0, "fewer than 100 records")


def test_record_flagged_by_two_checks_counts_once() -> None:
    values = ["a"] * 9 + ["zzzzzzzzzzzzzzzzzzzz"]
    report = _find(
        values,
        OutlierCheck("v", "length_iqr", 1.5, "string"),
        OutlierCheck("v", "rare_below", 20, "string", min_rows=5),
    )
    assert [c.flagged for c in report.checks] == [1, 1]
    assert report.flagged == 1


def test_outlier_share_above_its_threshold_warns() -> None:
    report = _find([10, 11, 12, 13, 14, 15, 900], OutlierCheck("v", "iqr", 1.5, "integer"), warn_above=10)
    assert report.warning == msg.WARN_OUTLIER_SHARE.format(flagged=1, total=7, share=100 / 7, warn=10)


def test_flagged_records_still_load() -> None:
    rules = one_field(
        {"type": "integer"},
        quality={"outliers": {"checks": [{"field": "v", "iqr": 1.5}], "warn_above": 5}},
    )
    result = quality_check(column(["1", "2", "2", "3", "2", "500"]), ruleset=rules, today=TODAY)
    assert len(result.valid) == 6
    assert result.outliers.flagged == 1
    assert result.warnings == [result.outliers.warning]
    assert result.report()["outliers"]["checks"]["v.outlier"]["examples"] == [{"line": 7, "value": "500"}]


def test_column_of_equal_values_flags_only_values_far_from_them() -> None:
    report = _find(["abcd"] * 20 + ["abc", "abcde", "x" * 12], OutlierCheck("v", "length_iqr", 3, "string"))
    assert (report.checks[0].low, report.checks[0].high) == (1.0, 7.0)  # IQR 0 taken as 1
    assert report.checks[0].examples == [{"line": 24, "value": "x" * 12}]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_fences_are_polars_linear_quartiles_of_each_batch(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.choice([None, *range(rng.randrange(3, 40))]) for _ in range(500)]
    data = pl.DataFrame(
        {"v": values, "batch": [i // 70 for i in range(500)]}, schema={"v": pl.Int64, "batch": pl.Int64}
    ).with_row_index(LINE_COLUMN, offset=2)
    config = OutlierConfig(checks=(OutlierCheck("v", "iqr", 1.5, "integer"),), examples=2)
    reports = outliers_by_batch(
        nw.from_native(data.lazy()), config=config, line_column=LINE_COLUMN, batch_column="batch"
    )
    for batch, group in data.group_by("batch"):
        q1, q3 = group["v"].quantile(0.25, "linear"), group["v"].quantile(0.75, "linear")
        assert q1 is not None
        assert q3 is not None
        spread = 1.5 * max(q3 - q1, 1.0)
        (check,) = reports[batch[0]].checks
        assert (check.low, check.high) == (q1 - spread, q3 + spread)
        assert reports[batch[0]].total == group.height
