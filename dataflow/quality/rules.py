"""Rule declarations: the ``rules:`` of each field and the ``quality:`` section, validated.

The schema file (``dataflow/schemas/customers.yaml``) is data a data engineer edits.
This module turns it into :class:`RuleSet` — plain, frozen values — or fails
with one line naming the file, the field, the rule and the problem. Some rules
come from the field itself: ``required: true`` gives ``<field>.required``,
``type: integer|date`` gives ``<field>.type`` and ``max_length`` gives
``<field>.max_length``; the ``rules:`` list adds the rest. What each kind
accepts and checks is in :mod:`dataflow.quality.kinds`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from dataflow.quality import messages as msg
from dataflow.quality.kinds import KINDS, ORDERED, RULE_KINDS
from dataflow.quality.kinds.base import Rule
from dataflow.quality.kinds.typed import type_rule
from dataflow.quality.outliers import OutlierConfig, parse_outlier_config
from dataflow.quality.thresholds import Thresholds, parse_thresholds
from dataflow.schema import SCHEMA_DIR, FieldSpec, Schema, SchemaError, load_schema

DATE_DIRECTIVES = {"%Y": 4, "%m": 2, "%d": 2, "%y": 2}
"""strftime directives the date type check understands, with their fixed widths."""

_OPTIONS = {"message"}


@dataclass(frozen=True)
class RuleSet:
    """Everything the quality stage needs, compiled from one schema file."""

    schema: Schema
    rules: tuple[Rule, ...]
    thresholds: Thresholds
    outliers: OutlierConfig
    storage: tuple[Rule, ...] = ()
    """What the customers table cannot store (a NUL byte in text): checked after ``rules``."""

    @property
    def key(self) -> str:
        return self.schema.key

    @property
    def codes(self) -> list[str]:
        return [rule.code for rule in self.rules]

    @property
    def checks(self) -> tuple[Rule, ...]:
        """Every rule a record is judged by, in the order its reasons are listed."""
        return (*self.rules, *self.storage)

    def for_field(self, name: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.field == name]

    def with_date_formats(self, extra: tuple[str, ...]) -> RuleSet:
        """These rules with ``extra`` date formats accepted after each date field's own
        (a source's ``--date-format``); ``ValueError`` names an unsupported format."""
        if not extra:
            return self
        problem = check_date_formats(extra)
        if problem:
            raise ValueError(problem)
        fields = tuple(
            replace(spec, formats=tuple(dict.fromkeys((*spec.formats, *extra))))
            if spec.type == "date"
            else spec
            for spec in self.schema.fields
        )
        schema = replace(self.schema, fields=fields)
        by_name = {spec.name: spec for spec in fields}
        rules = tuple(
            type_rule(by_name[rule.field]) if rule.kind == "type" and rule.field_type == "date" else rule
            for rule in self.rules
        )
        return replace(self, schema=schema, rules=rules)


def _fail(where: str, spec: FieldSpec, index: int | None, problem: str) -> SchemaError:
    position = f" rule {index}" if index is not None else ""
    return SchemaError(f"{where}: field {spec.name!r}{position}: {problem}")


def check_date_formats(formats: tuple[str, ...]) -> str | None:
    """The first problem with ``formats`` for the type check, or ``None``."""
    for fmt in formats:
        for directive in re.findall(r"%.", fmt):
            if directive != "%%" and directive not in DATE_DIRECTIVES:
                return msg.RULE_BAD_DATE_FORMAT.format(
                    format=fmt, directive=directive, supported=", ".join(DATE_DIRECTIVES)
                )
        found = re.findall(r"%[Ymdy]", fmt)
        if sorted(found) not in (["%Y", "%d", "%m"], ["%d", "%m", "%y"]):
            return msg.RULE_DATE_FORMAT_PARTS.format(format=fmt)
    return None


def _kind_of(entry: Any, *, spec: FieldSpec, index: int, where: str) -> str:
    """The one rule kind an entry declares."""
    if not isinstance(entry, dict) or not entry:
        raise _fail(where, spec, index, msg.RULE_NOT_MAPPING)
    kinds = [k for k in entry if k not in _OPTIONS]
    unknown = [k for k in kinds if k not in RULE_KINDS]
    if unknown:
        raise _fail(
            where, spec, index, msg.RULE_UNKNOWN_KIND.format(kind=unknown[0], kinds=", ".join(RULE_KINDS))
        )
    if not kinds:
        raise _fail(
            where, spec, index, msg.RULE_NO_KIND.format(keys=sorted(entry), kinds=", ".join(RULE_KINDS))
        )
    if len(kinds) > 1:
        raise _fail(where, spec, index, msg.RULE_TWO_KINDS.format(kinds=", ".join(kinds)))
    return kinds[0]


def _rule_from(entry: Any, *, spec: FieldSpec, index: int, where: str) -> Rule:
    kind = _kind_of(entry, spec=spec, index=index, where=where)
    text = entry.get("message")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise _fail(where, spec, index, msg.RULE_BAD_MESSAGE)
    parse = KINDS[kind].parse
    assert parse is not None  # RULE_KINDS lists the declarable kinds only
    try:
        return parse(Rule(field=spec.name, kind=kind, field_type=spec.type, text=text), entry[kind], spec)
    except ValueError as exc:
        raise _fail(where, spec, index, str(exc)) from None


def field_rules(spec: FieldSpec, *, where: str) -> list[Rule]:
    """The rules of one field: implied by its declaration first (kind order), then its ``rules:``."""
    if spec.type == "date":
        problem = check_date_formats(spec.formats)
        if problem:
            raise _fail(where, spec, None, problem)
    declared = [_rule_from(entry, spec=spec, index=i, where=where) for i, entry in enumerate(spec.rules, 1)]
    kinds = {rule.kind for rule in declared}
    implied = [
        rule
        for kind in ORDERED
        if not kind.storage and kind.implied is not None and kind.name not in kinds
        if (rule := kind.implied(spec)) is not None
    ]
    return implied + declared


def storage_rules(spec: FieldSpec) -> list[Rule]:
    """What the customers table could not store of one field (a NUL byte in text)."""
    return [
        rule
        for kind in ORDERED
        if kind.storage and kind.implied is not None
        if (rule := kind.implied(spec)) is not None
    ]


def ruleset_from_schema(schema: Schema, *, where: str) -> RuleSet:
    """Compile and validate every rule and the ``quality:`` section of ``schema``."""
    rules = tuple(rule for spec in schema.fields for rule in field_rules(spec, where=where))
    storage = tuple(rule for spec in schema.fields for rule in storage_rules(spec))
    section = schema.raw.get("quality") or {}
    if not isinstance(section, dict):
        raise SchemaError(f"{where}: {msg.QUALITY_NOT_MAPPING}")
    unknown = sorted(set(section) - {"thresholds", "outliers"})
    if unknown:
        raise SchemaError(
            f"{where}: "
            + msg.QUALITY_UNKNOWN_KEY.format(
                key=unknown[0], section="quality", allowed="thresholds, outliers"
            )
        )
    try:
        thresholds = parse_thresholds(section.get("thresholds"))
        outliers = parse_outlier_config(section.get("outliers"), schema=schema)
    except ValueError as exc:
        raise SchemaError(f"{where}: quality: {exc}") from None
    return RuleSet(schema=schema, rules=rules, thresholds=thresholds, outliers=outliers, storage=storage)


@lru_cache(maxsize=8)
def load_ruleset(name: str = "customers") -> RuleSet:
    """The validated rules of ``dataflow/schemas/<name>.yaml`` (cached: the file is code)."""
    return ruleset_from_schema(load_schema(name), where=str(SCHEMA_DIR / f"{name}.yaml"))


def ruleset_for(schema: Schema) -> RuleSet:
    """The rules of ``schema``: the cached ones when it is a shipped schema, else compiled now."""
    shipped = (SCHEMA_DIR / f"{schema.name}.yaml").is_file() and load_schema(schema.name) is schema
    return (
        load_ruleset(schema.name) if shipped else ruleset_from_schema(schema, where=f"schema {schema.name!r}")
    )


__all__ = ["RULE_KINDS", "Rule", "RuleSet", "check_date_formats", "load_ruleset", "ruleset_for"]
