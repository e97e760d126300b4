"""What people read: the rule → failures table and the quarantine CSV for the partner."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

from dataflow.quality.report import NO_FAILURES, NO_RECORDS, failures_table, quarantine_write_csv


def test_failures_table_lists_rules_by_count_with_an_example() -> None:
    report = {
        "failures": {
            "email.pattern": {"count": 1, "example": 'email.pattern: "x" is not an email address'},
            "index.type": {"count": 3, "example": 'index.type: "a" is not an integer'},
        }
    }
    assert failures_table(report).splitlines() == [
        "rule           failures  example",
        'index.type            3  index.type: "a" is not an integer',
        'email.pattern         1  email.pattern: "x" is not an email address',
    ]


def test_failures_table_ends_with_the_warning_of_a_warned_run() -> None:
    report = {
        "outcome": "warn",
        "invalid": 3,
        "read": 100,
        "invalid_share": 3.0,
        "thresholds": {"warn_above": 1.0, "reject_above": 10.0},
        "failures": {"email.pattern": {"count": 3, "example": "e"}},
    }
    assert failures_table(report).splitlines()[-1] == (
        "warning: 3 of 100 records (3.00%) failed the quality rules, above warn_above 1%"
    )


def test_failures_table_says_when_everything_passed() -> None:
    assert failures_table({"failures": {}}) == NO_FAILURES
    assert failures_table({"failures": {}, "read": 3}) == NO_FAILURES


def test_failures_table_says_when_there_was_nothing_to_check() -> None:
    """A file of no records passed no rule: it said every record passed them."""
    assert failures_table({"failures": {}, "read": 0}) == NO_RECORDS


def test_failures_table_adds_a_line_for_flagged_outliers() -> None:
    report = {
        "failures": {},
        "outliers": {"flagged": 2, "checked": 90, "checks": {"index.outlier": {"flagged": 2}}},
    }
    assert failures_table(report).splitlines()[-1] == "outliers: 2 of 90 records flagged (index.outlier 2)"


def test_quarantine_csv_has_one_row_per_record_with_joined_reasons(tmp_path: Path) -> None:
    rows = [
        SimpleNamespace(
            run_id=7,
            run=SimpleNamespace(filename="f.csv"),
            line_number=3,
            rule_codes=["email.pattern", "index.type"],
            messages=['email.pattern: "x" is not an email address', 'index.type: "a" is not an integer'],
            raw={"Email": "x", "Index": "a"},
            raw_text="",
        ),
        SimpleNamespace(
            run_id=7,
            run=SimpleNamespace(filename="f.csv"),
            line_number=9,
            rule_codes=["row.field_count"],
            messages=["m"],
            raw=None,
            raw_text="a,b",
        ),
    ]
    path = tmp_path / "q.csv"
    assert quarantine_write_csv(rows=rows, path=path) == 2
    with path.open(encoding="utf-8", newline="") as fh:
        written = list(csv.reader(fh))
    assert written == [
        ["run_id", "file", "line_number", "rule_codes", "messages", "raw", "raw_text"],
        [
            "7",
            "f.csv",
            "3",
            "email.pattern | index.type",
            'email.pattern: "x" is not an email address | index.type: "a" is not an integer',
            '{"Email": "x", "Index": "a"}',
            "",
        ],
        ["7", "f.csv", "9", "row.field_count", "m", "", "a,b"],
    ]
