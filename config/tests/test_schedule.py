"""``INGEST_SCHEDULE``, ``WORKER_STALLED_CHECK``, ``LAKE_MAINTENANCE_SCHEDULE``: cron, checked when the
settings load."""

from __future__ import annotations

import pytest

from config.schedule import parse_cron, parse_cron_or_off, parse_schedule


def test_a_schedule_names_a_cron_expression_per_source() -> None:
    assert parse_schedule(" local=*/15 * * * * ; SFTP = 0  *  * * * ;") == {
        "local": "*/15 * * * *",
        "sftp": "0 * * * *",
    }


def test_an_empty_schedule_polls_nothing() -> None:
    assert parse_schedule("") == {}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp=* * * * *", "a source among local, sftp, s3"),
        ("local", "expected <source>=<cron>"),
        ("local=*/15", "not a cron expression"),
        ("local=61 * * * *", "not a cron expression"),
        ("local=* * * * *;local=0 * * * *", "scheduled twice"),
    ],
)
def test_a_bad_schedule_is_refused_saying_why(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_schedule(value)


def test_a_sixth_field_counts_seconds() -> None:
    assert parse_cron("* * * * * */5") == "* * * * * */5"


def test_the_lake_maintenance_schedule_is_a_cron_expression_or_off() -> None:
    assert parse_cron_or_off(" 30  3 * * * ") == "30 3 * * *"
    assert parse_cron_or_off("OFF") == ""
    with pytest.raises(ValueError, match="not a cron expression"):
        parse_cron_or_off("daily")
