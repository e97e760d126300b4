"""Rule kinds about a value's text: ``pattern``, ``min_length``, ``max_length``, ``allowed``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import narwhals as nw
import polars as pl

from dataflow.quality import messages as msg
from dataflow.quality.kinds.base import CompiledRule, FieldInput, Rule, RuleKind, failure_message, register
from dataflow.schema import FieldSpec

BUILTIN_PATTERNS: dict[str, tuple[str, str]] = {
    # name: (regex, failure text). Plain regex syntax shared by Rust (Polars) and Java (Spark).
    "email": (
        r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$",
        msg.NOT_EMAIL,
    ),
    "url": (
        r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+(?::[0-9]{1,5})?(?:[/?#][^\s]*)?$",
        msg.NOT_URL,
    ),
    "phone": (
        r"^\+?[0-9(][0-9()\-. ]{3,40}[0-9](?:\s*(?:x|ext\.?)\s*[0-9]{1,8})?$",
        msg.NOT_PHONE,
    ),
}


def check_regex(pattern: str) -> str | None:
    """The engine's own complaint about ``pattern`` (Polars' Rust regex), or ``None``."""
    try:
        pl.select(pl.lit("").str.contains(pattern)).item()
    except pl.exceptions.ComputeError as exc:
        return " ".join(str(exc).split())[:200]
    return None


def _pattern_parse(rule: Rule, value: Any, spec: FieldSpec) -> Rule:
    if not isinstance(value, str) or not value:
        raise ValueError(msg.RULE_BAD_REGEX.format(pattern=value, error="expected a string"))
    regex, default_text = BUILTIN_PATTERNS.get(value, (value, msg.NO_MATCH.format(pattern=value)))
    problem = check_regex(regex)
    if problem:
        raise ValueError(msg.RULE_BAD_REGEX.format(pattern=value, error=problem))
    return replace(rule, pattern=regex, text=rule.text or default_text)


def _pattern(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    assert rule.pattern is not None
    failed = field.present & ~field.text.str.contains(rule.pattern).fill_null(value=False)
    return CompiledRule(rule, failed, failure_message(rule.code, field.text, rule.text or ""))


def _length_parse(rule: Rule, value: Any, spec: FieldSpec) -> Rule:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(msg.RULE_BAD_LENGTH.format(kind=rule.kind, value=value))
    if rule.kind == "max_length" and spec.max_length is not None and value > spec.max_length:
        raise ValueError(msg.RULE_LENGTH_OVER_COLUMN.format(value=value, column=spec.max_length))
    return replace(rule, length=value)


def _length(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    assert rule.length is not None
    length = field.text.str.len_chars()
    too_long = rule.kind == "max_length"
    outside = length > rule.length if too_long else length < rule.length
    template = msg.TOO_LONG if too_long else msg.TOO_SHORT
    before, after = template.split("{length}")
    after = after.format(max=rule.length, min=rule.length)
    failed = field.present & outside.fill_null(value=False)
    message = failure_message(rule.code, field.text, before, length.cast(nw.String), after)
    return CompiledRule(rule, failed, message)


def _max_length_implied(spec: FieldSpec) -> Rule | None:
    """The column's own length (the declaration's ``max_length``, which the customers table agrees with)."""
    if spec.max_length is None:
        return None
    return Rule(spec.name, "max_length", spec.type, length=spec.max_length)


def _allowed_parse(rule: Rule, value: Any, spec: FieldSpec) -> Rule:
    if not isinstance(value, list) or not value or any(isinstance(v, dict | list) for v in value):
        raise ValueError(msg.RULE_BAD_ALLOWED)
    return replace(rule, allowed=tuple(value))


def _allowed(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    shown = ", ".join(str(v) for v in rule.allowed[:10]) + (", …" if len(rule.allowed) > 10 else "")
    allowed = [str(v) for v in rule.allowed]
    failed = field.present & ~field.text.is_in(allowed).fill_null(value=False)
    message = failure_message(rule.code, field.text, msg.NOT_ALLOWED.format(allowed=shown))
    return CompiledRule(rule, failed, message)


PATTERN = register(RuleKind("pattern", 2, _pattern, parse=_pattern_parse))
MIN_LENGTH = register(RuleKind("min_length", 4, _length, parse=_length_parse))
MAX_LENGTH = register(RuleKind("max_length", 5, _length, parse=_length_parse, implied=_max_length_implied))
ALLOWED = register(RuleKind("allowed", 6, _allowed, parse=_allowed_parse))
