"""The rule loader: the shipped rules, rules implied by a field, and clear one-line errors."""

from __future__ import annotations

from datetime import date

import pytest

from dataflow.quality import messages as msg
from dataflow.quality.kinds.base import RelativeDate
from dataflow.quality.kinds.text import BUILTIN_PATTERNS
from dataflow.quality.rules import load_ruleset, ruleset_from_schema
from dataflow.schema import SchemaError, load_schema_file
from dataflow.tests.quality_factories import WHERE, one_field, ruleset
from testsupport import CASES as CASES_ROOT

CASES = CASES_ROOT / "quality"


def _error(field: dict, *, quality: dict | None = None) -> str:
    with pytest.raises(SchemaError) as caught:
        one_field(field, quality=quality)
    text = str(caught.value)
    assert "\n" not in text
    return text


def test_shipped_customer_rules_load_and_cover_every_field() -> None:
    rules = load_ruleset("customers")
    fields = {rule.field for rule in rules.rules}
    assert fields == set(rules.schema.field_names)
    assert {"email.pattern", "customer_id.pattern", "index.range", "subscription_date.range"} <= set(
        rules.codes
    )


def test_shipped_thresholds_are_one_and_ten_percent() -> None:
    rules = load_ruleset("customers")
    assert (rules.thresholds.warn_above, rules.thresholds.reject_above) == (1.0, 10.0)


def test_field_declaration_implies_required_type_and_max_length_rules() -> None:
    rules = one_field({"type": "integer", "required": True, "max_length": 5})
    assert [r.code for r in rules.for_field("v")] == ["v.required", "v.type", "v.max_length"]


def test_declared_rule_replaces_the_implied_one_of_the_same_kind() -> None:
    rules = one_field({"type": "string", "max_length": 50, "rules": [{"max_length": 20}]})
    assert [(r.code, r.length) for r in rules.for_field("v")] == [("v.max_length", 20)]


def test_builtin_pattern_name_expands_to_its_regex_and_message() -> None:
    (rule,) = one_field({"rules": [{"pattern": "email"}]}).for_field("v")
    assert (rule.pattern, rule.text) == BUILTIN_PATTERNS["email"]


def test_relative_date_bound_is_parsed() -> None:
    (rule,) = [
        r
        for r in one_field({"type": "date", "rules": [{"range": {"max": "today+1d"}}]}).rules
        if r.kind == "range"
    ]
    assert rule.max == RelativeDate(days=1)
    assert RelativeDate(days=1).resolve(date(2024, 2, 28)) == date(2024, 2, 29)


def test_negative_relative_date_bound_is_parsed() -> None:
    rules = one_field({"type": "date", "rules": [{"range": {"min": "today - 30d"}}]})
    (rule,) = [r for r in rules.rules if r.kind == "range"]
    assert rule.min == RelativeDate(days=-30)


def test_unknown_rule_kind_is_named_with_file_field_and_position() -> None:
    text = _error({"rules": [{"pattern": "^a$"}, {"patern": "^a$"}]})
    assert text == f"{WHERE}: field 'v' rule 2: " + msg.RULE_UNKNOWN_KIND.format(
        kind="patern", kinds="required, type, pattern, range, min_length, max_length, allowed, unique"
    )


def test_rule_that_is_not_a_mapping_is_rejected() -> None:
    assert _error({"rules": ["email"]}) == f"{WHERE}: field 'v' rule 1: {msg.RULE_NOT_MAPPING}"


def test_two_kinds_in_one_rule_are_rejected() -> None:
    text = _error({"rules": [{"pattern": "^a$", "unique": True}]})
    assert text == f"{WHERE}: field 'v' rule 1: " + msg.RULE_TWO_KINDS.format(kinds="pattern, unique")


def test_invalid_regex_is_rejected_with_the_engine_reason() -> None:
    text = _error({"rules": [{"pattern": "^(a$"}]})
    assert text.startswith(f"{WHERE}: field 'v' rule 1: invalid regular expression '^(a$': ")


def test_lookaround_regex_the_engine_cannot_run_is_rejected() -> None:
    assert "invalid regular expression" in _error({"rules": [{"pattern": "^(?!x).*$"}]})


def test_range_on_a_string_field_is_rejected() -> None:
    assert _error({"rules": [{"range": {"min": 1}}]}).endswith(msg.RULE_RANGE_TYPE.format(type="string"))


def test_range_with_a_non_date_bound_is_rejected() -> None:
    text = _error({"type": "date", "rules": [{"range": {"min": "yesterday"}}]})
    assert "range min 'yesterday' is not a date (YYYY-MM-DD) or today, today+Nd, today-Nd" in text


def test_inverted_range_is_rejected() -> None:
    text = _error({"type": "integer", "rules": [{"range": {"min": 5, "max": 1}}]})
    assert text.endswith(msg.RULE_RANGE_INVERTED.format(min=5, max=1))


def test_max_length_rule_above_the_column_length_is_rejected() -> None:
    text = _error({"max_length": 10, "rules": [{"max_length": 11}]})
    assert text.endswith(msg.RULE_LENGTH_OVER_COLUMN.format(value=11, column=10))


def test_empty_allowed_list_is_rejected() -> None:
    assert _error({"rules": [{"allowed": []}]}).endswith(msg.RULE_BAD_ALLOWED)


def test_unsupported_date_format_directive_is_rejected() -> None:
    text = _error({"type": "date", "formats": ["%d %B %Y"]})
    assert text == f"{WHERE}: field 'v': " + msg.RULE_BAD_DATE_FORMAT.format(
        format="%d %B %Y", directive="%B", supported="%Y, %m, %d, %y"
    )


def test_bad_threshold_is_rejected() -> None:
    text = _error({}, quality={"thresholds": {"warn_above": 150}})
    assert text == f"{WHERE}: quality: " + msg.THRESHOLD_BAD.format(name="warn_above", value=150)


def test_warn_above_greater_than_reject_above_is_rejected() -> None:
    text = _error({}, quality={"thresholds": {"warn_above": 20, "reject_above": 10}})
    assert text.endswith(msg.THRESHOLD_ORDER.format(warn=20.0, reject=10.0))


def test_outlier_check_on_unknown_field_is_rejected() -> None:
    text = _error({}, quality={"outliers": {"checks": [{"field": "nope", "iqr": 1.5}]}})
    assert text == f"{WHERE}: quality: " + msg.OUTLIER_UNKNOWN_FIELD.format(index=1, field="nope")


def test_iqr_outlier_check_on_a_string_field_is_rejected() -> None:
    text = _error({}, quality={"outliers": {"checks": [{"field": "v", "iqr": 1.5}]}})
    assert "iqr needs an integer or date field, not string" in text


def test_malformed_rule_file_on_disk_names_the_file() -> None:
    path = CASES / "bad_rule.yaml"
    with pytest.raises(SchemaError) as caught:
        ruleset_from_schema(load_schema_file(path), where=str(path))
    assert str(caught.value) == f"{path}: field 'email' rule 1: " + msg.RULE_UNKNOWN_KIND.format(
        kind="regex", kinds="required, type, pattern, range, min_length, max_length, allowed, unique"
    )


def test_whole_document_with_every_rule_kind_loads() -> None:
    rules = ruleset(
        {
            "key": "id",
            "fields": [
                {"name": "id", "required": True, "rules": [{"unique": True}]},
                {"name": "n", "type": "integer", "rules": [{"range": {"min": 0, "max": 9}}]},
                {"name": "c", "rules": [{"allowed": ["a", "b"]}, {"min_length": 1}, {"pattern": "url"}]},
            ],
        }
    )
    assert {r.kind for r in rules.rules} == {
        "required",
        "unique",
        "type",
        "range",
        "allowed",
        "min_length",
        "pattern",
    }


def test_ruleset_for_the_shipped_schema_is_the_cached_one() -> None:
    from dataflow.quality.rules import ruleset_for
    from dataflow.schema import load_schema

    assert ruleset_for(load_schema("customers")) is load_ruleset("customers")


def test_ruleset_for_another_schema_is_compiled_from_it() -> None:
    from dataflow.quality.rules import ruleset_for
    from dataflow.schema import parse_schema

    schema = parse_schema({"name": "x", "key": "id", "fields": [{"name": "id", "required": True}]}, where="x")
    assert ruleset_for(schema).codes == ["id.required"]


def test_extra_date_formats_extend_the_type_rule_and_its_message() -> None:
    rules = load_ruleset().with_date_formats(("%d/%m/%Y",))
    (rule,) = [r for r in rules.rules if r.code == "subscription_date.type"]
    assert rule.formats == ("%Y-%m-%d", "%d/%m/%Y")
    assert rule.text == msg.NOT_DATE.format(formats="%Y-%m-%d or %d/%m/%Y")
    assert rules.schema.field("subscription_date").formats == ("%Y-%m-%d", "%d/%m/%Y")


def test_unsupported_extra_date_format_is_refused() -> None:
    with pytest.raises(ValueError, match="date format '%d %b %Y' uses %b"):
        load_ruleset().with_date_formats(("%d %b %Y",))
