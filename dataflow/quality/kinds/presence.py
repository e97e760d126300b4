"""Rule kinds about a value being there (or there once): ``required``, ``unique``, ``nul``."""

from __future__ import annotations

from datetime import date

import narwhals as nw

from dataflow.quality import messages as msg
from dataflow.quality.kinds.base import (
    CompiledRule,
    FieldInput,
    Rule,
    RuleKind,
    failure_message,
    flag,
    register,
)
from dataflow.schema import FieldSpec


def _required(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    return CompiledRule(rule, ~field.present, nw.lit(f"{rule.code}: {msg.MISSING}"))


def _required_implied(spec: FieldSpec) -> Rule | None:
    return Rule(spec.name, "required", spec.type) if spec.required else None


def _unique(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    # Over the frame only when no file-wide count came with it: a file is checked batch by batch.
    repeated = field.repeated if field.repeated is not None else nw.len().over(rule.field) > 1
    message = failure_message(rule.code, field.text, msg.NOT_UNIQUE)
    return CompiledRule(rule, field.present & repeated, message)


def _nul(rule: Rule, field: FieldInput, today: date) -> CompiledRule:
    failed = field.text.str.contains("\x00", literal=True).fill_null(value=False)
    return CompiledRule(rule, failed, nw.lit(f"{rule.field}: {msg.NUL_BYTE}"))


def _nul_implied(spec: FieldSpec) -> Rule | None:
    return Rule(spec.name, "nul", spec.type) if spec.type == "string" else None


REQUIRED = register(RuleKind("required", 0, _required, parse=flag, implied=_required_implied))
UNIQUE = register(RuleKind("unique", 7, _unique, parse=flag))
NUL = register(RuleKind("nul", 8, _nul, implied=_nul_implied, storage=True))
"""PostgreSQL text cannot hold a NUL byte: every text field is checked, whatever its rules."""
