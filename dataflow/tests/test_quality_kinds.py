"""The registry of rule kinds: each kind in one place, declarable ones in the order error texts list them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dataflow.quality import messages as msg
from dataflow.quality import quality_check
from dataflow.quality.kinds import KINDS, RULE_KINDS
from dataflow.tests.quality_factories import column, one_field

TODAY = date(2026, 11, 27)
NO_LIMITS = {"thresholds": {"warn_above": 100, "reject_above": 100}}

EXAMPLES: dict[str, tuple[dict[str, Any], str, str]] = {
    # kind: (field declaration, a passing value, a failing value)
    "required": ({"required": True}, "a", ""),
    "type": ({"type": "integer", "rules": [{"type": True}]}, "12", "12x"),
    "pattern": ({"rules": [{"pattern": "^[a-z]+$"}]}, "abc", "ABC"),
    "range": ({"type": "integer", "rules": [{"range": {"min": 0}}]}, "3", "-1"),
    "min_length": ({"rules": [{"min_length": 2}]}, "ab", "a"),
    "max_length": ({"rules": [{"max_length": 2}]}, "ab", "abc"),
    "allowed": ({"rules": [{"allowed": ["a"]}]}, "a", "b"),
    "unique": ({"rules": [{"unique": True}]}, "a", "b"),  # "b" twice below
    "nul": ({}, "a", "a\x00b"),  # implied for every text field
}


def test_declarable_kinds_keep_the_order_error_texts_list() -> None:
    assert RULE_KINDS == (
        "required",
        "type",
        "pattern",
        "range",
        "min_length",
        "max_length",
        "allowed",
        "unique",
    )


def test_every_kind_has_an_example_here() -> None:
    assert set(EXAMPLES) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_parses_compiles_passes_a_good_value_and_words_a_bad_one(kind: str) -> None:
    declaration, good, bad = EXAMPLES[kind]
    rules = one_field(declaration, quality=NO_LIMITS)
    assert f"v.{kind}" in [rule.code for rule in rules.checks]
    values = [good, bad, bad] if kind == "unique" else [good, bad]
    result = quality_check(column(values), ruleset=rules, today=TODAY)
    failing = {e.line_number: e for e in result.quarantined}
    assert 2 not in failing, failing.get(2)
    entry = failing[3]
    assert f"v.{kind}" in entry.rule_codes
    message = entry.messages[entry.rule_codes.index(f"v.{kind}")]
    assert message.startswith(f"v.{kind}: " if kind != "nul" else "v: ")


def test_nul_is_implied_for_text_fields_only_and_cannot_be_declared() -> None:
    assert [r.code for r in one_field({"type": "integer"}).storage] == ["id.nul"]
    assert [r.code for r in one_field({}).storage] == ["id.nul", "v.nul"]
    assert "nul" not in RULE_KINDS


def test_a_nul_byte_is_worded_without_quoting_the_value() -> None:
    result = quality_check(column(["a\x00b"]), ruleset=one_field({}, quality=NO_LIMITS), today=TODAY)
    assert result.quarantined[0].messages == [f"v: {msg.NUL_BYTE}"]
