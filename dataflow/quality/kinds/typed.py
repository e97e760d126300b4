"""Rule kinds about a typed value: ``type`` (it parses) and ``range`` (it lies between bounds)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

import narwhals as nw

from dataflow.parsing import INTEGER_PATTERN, valid_date
from dataflow.quality import messages as msg
from dataflow.quality.kinds.base import (
    Bound,
    CompiledRule,
    FieldInput,
    RelativeDate,
    Rule,
    RuleKind,
    failure_message,
    flag,
    register,
)
from dataflow.schema import FieldSpec

_RELATIVE_DATE = re.compile(r"^today\s*(?:([+-])\s*(\d+)\s*d)?$")


def type_rule(spec: FieldSpec, *, text: str | None = None) -> Rule:
    """The ``type`` rule of a field as declared (its date formats), with ``text`` or the default."""
    if spec.type == "date":
        default = msg.NOT_DATE.format(formats=" or ".join(spec.formats))
        return Rule(spec.name, "type", spec.type, text=text or default, formats=spec.formats)
    return Rule(
        spec.name, "type", spec.type, text=text or (msg.NOT_INTEGER if spec.type == "integer" else None)
    )


def _type_parse(rule: Rule, value: Any, spec: FieldSpec) -> Rule:
    return type_rule(spec, text=flag(rule, value, spec).text)


def _type_implied(spec: FieldSpec) -> Rule | None:
    return type_rule(spec) if spec.type in ("integer", "date") else None


def _parses(rule: Rule, text: nw.Expr) -> nw.Expr:
    if rule.field_type == "integer":
        return text.str.contains(INTEGER_PATTERN)
    return nw.any_horizontal(*(valid_date(text, fmt) for fmt in rule.formats), ignore_nulls=True)


def _type(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    failed = field.present & ~_parses(rule, field.text).fill_null(value=False)
    return CompiledRule(rule, failed, failure_message(rule.code, field.text, rule.text or ""))


def _bound(value: Any, *, spec: FieldSpec, name: str) -> Bound:
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(msg.RULE_BAD_RANGE_BOUND.format(bound=name, value=value, expected="an integer"))
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _RELATIVE_DATE.match(value.strip())
        if match:
            sign, days = match.groups()
            return RelativeDate(days=(-1 if sign == "-" else 1) * int(days or 0))
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(
        msg.RULE_BAD_RANGE_BOUND.format(
            bound=name, value=value, expected="a date (YYYY-MM-DD) or today, today+Nd, today-Nd"
        )
    )


def _inverted(low: Bound | None, high: Bound | None) -> bool:
    if isinstance(low, int) and isinstance(high, int):
        return low > high
    if isinstance(low, date) and isinstance(high, date):
        return low > high
    return False


def _range_parse(rule: Rule, value: Any, spec: FieldSpec) -> Rule:
    if spec.type not in ("integer", "date"):
        raise ValueError(msg.RULE_RANGE_TYPE.format(type=spec.type))
    if not isinstance(value, dict) or not ({"min", "max"} & set(value)):
        raise ValueError(msg.RULE_RANGE_EMPTY)
    extra = sorted(set(value) - {"min", "max"})
    if extra:
        raise ValueError(msg.RULE_UNKNOWN_OPTION.format(option=extra[0], kind=rule.kind))
    low = _bound(value["min"], spec=spec, name="min") if "min" in value else None
    high = _bound(value["max"], spec=spec, name="max") if "max" in value else None
    if _inverted(low, high):
        raise ValueError(msg.RULE_RANGE_INVERTED.format(min=low, max=high))
    return replace(rule, min=low, max=high)


def _resolve(bound: Bound | None, today: date) -> int | date | None:
    return bound.resolve(today) if isinstance(bound, RelativeDate) else bound


def _range(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    low, high = _resolve(rule.min, today), _resolve(rule.max, today)
    is_date = rule.field_type == "date"
    below = field.value < low if low is not None else nw.lit(value=False)
    above = field.value > high if high is not None else nw.lit(value=False)
    low_text = (msg.BEFORE_MIN if is_date else msg.BELOW_MIN).format(min=low)
    high_text = (msg.AFTER_MAX if is_date else msg.ABOVE_MAX).format(max=high)
    failed = (below | above).fill_null(value=False)
    message = nw.when(below.fill_null(value=False)).then(failure_message(rule.code, field.text, low_text))
    return CompiledRule(rule, failed, message.otherwise(failure_message(rule.code, field.text, high_text)))


TYPE = register(RuleKind("type", 1, _type, parse=_type_parse, implied=_type_implied))
RANGE = register(RuleKind("range", 3, _range, parse=_range_parse))
