"""Each rule kind on a tiny frame: a good value passes, a bad one fails with its code and message."""

from __future__ import annotations

from datetime import date
from typing import Any

import narwhals as nw
import polars as pl
import pytest

from dataflow.parsing import date_from_text, date_regex
from dataflow.quality import messages as msg
from dataflow.quality import quality_check
from dataflow.quality.expressions import rule_problems
from dataflow.quality.rules import RuleSet
from dataflow.tests.quality_factories import column, one_field

TODAY = date(2026, 11, 27)
NO_LIMITS = {"thresholds": {"warn_above": 100, "reject_above": 100}}


def _failures(rules: RuleSet, values: list[Any]) -> list[list[str]]:
    """The messages of each value (empty list = passed), in value order."""
    result = quality_check(column(values), ruleset=rules, today=TODAY)
    by_line = {e.line_number: e.messages for e in result.quarantined}
    return [by_line.get(line, []) for line in range(2, 2 + len(values))]


def _rules(field: dict[str, Any]) -> RuleSet:
    return one_field(field, quality=NO_LIMITS)


def test_required_passes_a_value_and_catches_null_and_blank() -> None:
    rules = _rules({"required": True})
    assert _failures(rules, ["x", None, "  "]) == [
        [],
        [f"v.required: {msg.MISSING}"],
        [f"v.required: {msg.MISSING}"],
    ]


def test_optional_field_passes_a_missing_value() -> None:
    assert _failures(_rules({"type": "integer", "rules": [{"pattern": "^1"}]}), [None]) == [[]]


def test_integer_type_passes_signed_digits_and_catches_text() -> None:
    assert _failures(_rules({"type": "integer"}), ["-12", "+7", "12x", "1.5"]) == [
        [],
        [],
        [f'v.type: "12x" {msg.NOT_INTEGER}'],
        [f'v.type: "1.5" {msg.NOT_INTEGER}'],
    ]


def test_integer_too_big_for_64_bits_is_a_type_failure() -> None:
    assert _failures(_rules({"type": "integer"}), ["9" * 19]) == [[f'v.type: "{"9" * 19}" {msg.NOT_INTEGER}']]


def test_date_type_passes_a_real_day_and_catches_an_impossible_one() -> None:
    expected = msg.NOT_DATE.format(formats="%Y-%m-%d")
    assert _failures(_rules({"type": "date"}), ["2024-02-29", "2023-02-29", "2021-13-01", "20-1-1"]) == [
        [],
        [f'v.type: "2023-02-29" {expected}'],
        [f'v.type: "2021-13-01" {expected}'],
        [f'v.type: "20-1-1" {expected}'],
    ]


def test_date_type_tries_each_declared_format() -> None:
    rules = _rules({"type": "date", "formats": ["%Y-%m-%d", "%d/%m/%Y"]})
    assert _failures(rules, ["2020-01-31", "31/01/2020", "01/31/2020"]) == [
        [],
        [],
        [f'v.type: "01/31/2020" {msg.NOT_DATE.format(formats="%Y-%m-%d or %d/%m/%Y")}'],
    ]


def test_date_from_text_parses_each_format_to_the_same_day() -> None:
    frame = pl.DataFrame({"t": ["2020-01-31", "31/01/2020", "99/99/2020"]})
    parsed = nw.from_native(frame).select(date_from_text(nw.col("t"), ("%Y-%m-%d", "%d/%m/%Y")))
    assert parsed["t"].to_list() == [date(2020, 1, 31), date(2020, 1, 31), None]


def test_two_digit_year_pivots_at_70_like_polars() -> None:
    frame = pl.DataFrame({"t": ["69-01-02", "70-01-02", "00-02-29"]})
    parsed = nw.from_native(frame).select(date_from_text(nw.col("t"), ("%y-%m-%d",)))
    assert parsed["t"].to_list() == [date(2069, 1, 2), date(1970, 1, 2), date(2000, 2, 29)]


def test_email_pattern_passes_an_address_and_catches_text() -> None:
    rules = _rules({"rules": [{"pattern": "email"}]})
    assert _failures(rules, ["o'neil+x@mail.example.co.uk", "not-an-email", "a@b"]) == [
        [],
        [f'v.pattern: "not-an-email" {msg.NOT_EMAIL}'],
        [f'v.pattern: "a@b" {msg.NOT_EMAIL}'],
    ]


def test_url_pattern_passes_http_and_catches_other_schemes() -> None:
    rules = _rules({"rules": [{"pattern": "url"}]})
    assert _failures(rules, ["https://www.example.com/a?b=1", "ftp://example.com", "http://localhost"]) == [
        [],
        [f'v.pattern: "ftp://example.com" {msg.NOT_URL}'],
        [f'v.pattern: "http://localhost" {msg.NOT_URL}'],
    ]


def test_phone_pattern_passes_common_shapes_and_catches_letters() -> None:
    rules = _rules({"rules": [{"pattern": "phone"}]})
    good = ["229.077.5154", "+1-539-402-0259", "(496)978-3969x58947", "001-808-617-6467x12895"]
    assert _failures(rules, [*good, "call me"]) == [[], [], [], [], [f'v.pattern: "call me" {msg.NOT_PHONE}']]


def test_custom_pattern_uses_the_declared_message() -> None:
    rules = _rules(
        {"rules": [{"pattern": "^[0-9A-Za-z]{6,64}$", "message": "is not 6 to 64 letters and digits"}]}
    )
    assert _failures(rules, ["Ab12cd", "ab-12cd"]) == [
        [],
        ['v.pattern: "ab-12cd" is not 6 to 64 letters and digits'],
    ]


def test_custom_pattern_without_message_names_the_pattern() -> None:
    assert _failures(_rules({"rules": [{"pattern": "^a+$"}]}), ["b"]) == [
        [f'v.pattern: "b" {msg.NO_MATCH.format(pattern="^a+$")}']
    ]


def test_integer_range_catches_both_sides() -> None:
    rules = _rules({"type": "integer", "rules": [{"range": {"min": 0, "max": 10}}]})
    assert _failures(rules, ["0", "10", "-1", "11"]) == [
        [],
        [],
        [f'v.range: "-1" {msg.BELOW_MIN.format(min=0)}'],
        [f'v.range: "11" {msg.ABOVE_MAX.format(max=10)}'],
    ]


def test_date_range_resolves_today_plus_one_day() -> None:
    rules = _rules({"type": "date", "rules": [{"range": {"min": "1990-01-01", "max": "today+1d"}}]})
    assert _failures(rules, ["2026-11-28", "2026-11-29", "1989-12-31"]) == [
        [],
        [f'v.range: "2026-11-29" {msg.AFTER_MAX.format(max="2026-11-28")}'],
        [f'v.range: "1989-12-31" {msg.BEFORE_MIN.format(min="1990-01-01")}'],
    ]


def test_unparseable_value_fails_type_only_not_range() -> None:
    rules = _rules({"type": "integer", "rules": [{"range": {"min": 0}}]})
    result = quality_check(column(["abc"]), ruleset=rules, today=TODAY)
    assert result.quarantined[0].rule_codes == ["v.type"]


def test_max_length_counts_characters_and_shows_a_cut_value() -> None:
    long_value = "é" * 70
    rules = _rules({"max_length": 69})
    shown = "é" * msg.VALUE_PREVIEW_CHARS + "…"
    assert _failures(rules, ["é" * 69, long_value]) == [
        [],
        [f'v.max_length: "{shown}" ' + msg.TOO_LONG.format(length=70, max=69)],
    ]


def test_min_length_catches_a_short_value() -> None:
    assert _failures(_rules({"rules": [{"min_length": 2}]}), ["ab", "a"]) == [
        [],
        ['v.min_length: "a" ' + msg.TOO_SHORT.format(length=1, min=2)],
    ]


def test_allowed_values_catch_an_unlisted_value() -> None:
    rules = _rules({"rules": [{"allowed": ["FR", "DE"]}]})
    assert _failures(rules, ["FR", "XX"]) == [
        [],
        [f'v.allowed: "XX" {msg.NOT_ALLOWED.format(allowed="FR, DE")}'],
    ]


def test_unique_on_a_non_key_field_quarantines_every_repeat() -> None:
    rules = _rules({"rules": [{"unique": True}]})
    assert _failures(rules, ["a", "b", "a"]) == [
        [f'v.unique: "a" {msg.NOT_UNIQUE}'],
        [],
        [f'v.unique: "a" {msg.NOT_UNIQUE}'],
    ]


def test_one_record_keeps_every_reason_in_rule_order() -> None:
    rules = _rules({"type": "integer", "max_length": 2, "rules": [{"pattern": "^[0-9]+$"}]})
    (entry,) = quality_check(column(["abc"]), ruleset=rules, today=TODAY).quarantined
    assert entry.rule_codes == ["v.type", "v.max_length", "v.pattern"]
    assert len(entry.messages) == 3


@pytest.mark.parametrize("lazy", [False, True])
def test_rules_run_on_eager_and_lazy_frames_alike(lazy: bool) -> None:
    rules = _rules({"rules": [{"pattern": "email"}]})
    data = column(["a@b.co", "nope"])
    result = quality_check(data.lazy() if lazy else data, ruleset=rules, today=TODAY)
    assert [e.line_number for e in result.quarantined] == [3]


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%d/%m/%Y", "%m%d%y"])
def test_date_regex_accepts_exactly_the_real_calendar_days(fmt: str) -> None:
    years = [1899, 1900, 1904, 1999, 2000, 2001, 2023, 2024, 2100]
    texts, real = [], []
    for year in years:
        for month in range(0, 14):
            for day in range(0, 33):
                text = fmt.replace("%Y", f"{year:04d}").replace("%y", f"{year % 100:02d}")
                texts.append(text.replace("%m", f"{month:02d}").replace("%d", f"{day:02d}"))
                try:
                    date(
                        year if "%Y" in fmt else (1900 if year % 100 >= 70 else 2000) + year % 100, month, day
                    )
                except ValueError:
                    real.append(False)
                else:
                    real.append(True)
    matched = pl.DataFrame({"t": texts}).select(pl.col("t").str.contains(date_regex(fmt)))["t"].to_list()
    assert matched == real


def test_rule_problems_evaluate_lazily_without_the_stage() -> None:
    rules = _rules({"rules": [{"pattern": "email"}]})
    data = nw.from_native(column(["a@b.co", "nope"]).lazy())
    problems = rule_problems(rules, dtypes=dict(data.collect_schema()), raw_columns={}, today=TODAY)
    out = data.select(*(message.alias(code) for code, _failed, message in problems)).collect()
    assert out["v.pattern"].to_list() == [None, f'v.pattern: "nope" {msg.NOT_EMAIL}']
