"""Rule declarations: the ``rules:`` of each field and the ``quality:`` section, validated.

The schema file (``etl/schemas/customers.yaml``) is data a data engineer edits.
This module turns it into :class:`RuleSet` — plain, frozen values — or fails
with one line naming the file, the field, the rule and the problem. Some rules
come from the field itself: ``required: true`` gives ``<field>.required``,
``type: integer|date`` gives ``<field>.type`` and ``max_length`` gives
``<field>.max_length``; the ``rules:`` list adds the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import polars as pl

from etl.quality import messages as msg
from etl.quality.outliers import OutlierConfig, parse_outlier_config
from etl.quality.thresholds import Thresholds, parse_thresholds
from etl.schema import SCHEMA_DIR, FieldSpec, Schema, SchemaError, load_schema

RULE_KINDS = ("required", "type", "pattern", "range", "min_length", "max_length", "allowed", "unique")
"""Every rule kind; a failure's code is ``<field>.<kind>``."""

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

DATE_DIRECTIVES = {"%Y": 4, "%m": 2, "%d": 2, "%y": 2}
"""strftime directives the date type check understands, with their fixed widths."""

_OPTIONS = {"message"}
_RELATIVE_DATE = re.compile(r"^today\s*(?:([+-])\s*(\d+)\s*d)?$")


@dataclass(frozen=True)
class RelativeDate:
    """``today``, ``today+1d``, ``today-30d``: resolved when the rules run."""

    days: int

    def resolve(self, today: date) -> date:
        return today + timedelta(days=self.days)

    def __str__(self) -> str:
        return "today" if not self.days else f"today{self.days:+d}d"


Bound = int | date | RelativeDate


@dataclass(frozen=True)
class Rule:
    """One declared check of one field; ``code`` names its failures."""

    field: str
    kind: str
    field_type: str = "string"
    pattern: str | None = None
    text: str | None = None
    """Failure text after the quoted value (the rule's ``message:`` or the default)."""
    min: Bound | None = None
    max: Bound | None = None
    length: int | None = None
    allowed: tuple[Any, ...] = ()
    formats: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return f"{self.field}.{self.kind}"


@dataclass(frozen=True)
class RuleSet:
    """Everything the quality stage needs, compiled from one schema file."""

    schema: Schema
    rules: tuple[Rule, ...]
    thresholds: Thresholds
    outliers: OutlierConfig

    @property
    def key(self) -> str:
        return self.schema.key

    @property
    def codes(self) -> list[str]:
        return [rule.code for rule in self.rules]

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
            _type_rule(by_name[rule.field]) if rule.kind == "type" and rule.field_type == "date" else rule
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


def check_regex(pattern: str) -> str | None:
    """The engine's own complaint about ``pattern`` (Polars' Rust regex), or ``None``."""
    try:
        pl.select(pl.lit("").str.contains(pattern)).item()
    except pl.exceptions.ComputeError as exc:
        return " ".join(str(exc).split())[:200]
    return None


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


def _rule_from(entry: Any, *, spec: FieldSpec, index: int, where: str) -> Rule:
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
    kind, value = kinds[0], entry[kinds[0]]
    text = entry.get("message")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise _fail(where, spec, index, msg.RULE_BAD_MESSAGE)
    base = Rule(field=spec.name, kind=kind, field_type=spec.type, text=text)
    try:
        return _complete(base, value=value, spec=spec)
    except ValueError as exc:
        raise _fail(where, spec, index, str(exc)) from None


def _complete(rule: Rule, *, value: Any, spec: FieldSpec) -> Rule:
    """Fill in one rule's parameters from its YAML value; ``ValueError`` names the problem."""
    kind = rule.kind
    if kind in ("required", "unique", "type"):
        if value is not True:
            raise ValueError(msg.RULE_BAD_FLAG.format(kind=kind, value=value))
        return _type_rule(spec, text=rule.text) if kind == "type" else rule
    if kind == "pattern":
        if not isinstance(value, str) or not value:
            raise ValueError(msg.RULE_BAD_REGEX.format(pattern=value, error="expected a string"))
        regex, default_text = BUILTIN_PATTERNS.get(value, (value, msg.NO_MATCH.format(pattern=value)))
        problem = check_regex(regex)
        if problem:
            raise ValueError(msg.RULE_BAD_REGEX.format(pattern=value, error=problem))
        return replace(rule, pattern=regex, text=rule.text or default_text)
    if kind == "range":
        if spec.type not in ("integer", "date"):
            raise ValueError(msg.RULE_RANGE_TYPE.format(type=spec.type))
        if not isinstance(value, dict) or not ({"min", "max"} & set(value)):
            raise ValueError(msg.RULE_RANGE_EMPTY)
        extra = sorted(set(value) - {"min", "max"})
        if extra:
            raise ValueError(msg.RULE_UNKNOWN_OPTION.format(option=extra[0], kind=kind))
        low = _bound(value["min"], spec=spec, name="min") if "min" in value else None
        high = _bound(value["max"], spec=spec, name="max") if "max" in value else None
        if _inverted(low, high):
            raise ValueError(msg.RULE_RANGE_INVERTED.format(min=low, max=high))
        return replace(rule, min=low, max=high)
    if kind in ("min_length", "max_length"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(msg.RULE_BAD_LENGTH.format(kind=kind, value=value))
        if kind == "max_length" and spec.max_length is not None and value > spec.max_length:
            raise ValueError(msg.RULE_LENGTH_OVER_COLUMN.format(value=value, column=spec.max_length))
        return replace(rule, length=value)
    # allowed
    if not isinstance(value, list) or not value or any(isinstance(v, dict | list) for v in value):
        raise ValueError(msg.RULE_BAD_ALLOWED)
    return replace(rule, allowed=tuple(value))


def _type_rule(spec: FieldSpec, *, text: str | None = None) -> Rule:
    if spec.type == "date":
        default = msg.NOT_DATE.format(formats=" or ".join(spec.formats))
        return Rule(spec.name, "type", spec.type, text=text or default, formats=spec.formats)
    return Rule(
        spec.name, "type", spec.type, text=text or (msg.NOT_INTEGER if spec.type == "integer" else None)
    )


def field_rules(spec: FieldSpec, *, where: str) -> list[Rule]:
    """The rules of one field: implied by its declaration first, then its ``rules:``."""
    if spec.type == "date":
        problem = check_date_formats(spec.formats)
        if problem:
            raise _fail(where, spec, None, problem)
    declared = [_rule_from(entry, spec=spec, index=i, where=where) for i, entry in enumerate(spec.rules, 1)]
    kinds = {rule.kind for rule in declared}
    implied: list[Rule] = []
    if spec.required and "required" not in kinds:
        implied.append(Rule(spec.name, "required", spec.type))
    if spec.type in ("integer", "date") and "type" not in kinds:
        implied.append(_type_rule(spec))
    if spec.max_length is not None and "max_length" not in kinds:
        implied.append(Rule(spec.name, "max_length", spec.type, length=spec.max_length))
    return implied + declared


def ruleset_from_schema(schema: Schema, *, where: str) -> RuleSet:
    """Compile and validate every rule and the ``quality:`` section of ``schema``."""
    rules = tuple(rule for spec in schema.fields for rule in field_rules(spec, where=where))
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
    return RuleSet(schema=schema, rules=rules, thresholds=thresholds, outliers=outliers)


@lru_cache(maxsize=8)
def load_ruleset(name: str = "customers") -> RuleSet:
    """The validated rules of ``etl/schemas/<name>.yaml`` (cached: the file is code)."""
    return ruleset_from_schema(load_schema(name), where=str(SCHEMA_DIR / f"{name}.yaml"))


def ruleset_for(schema: Schema) -> RuleSet:
    """The rules of ``schema``: the cached ones when it is a shipped schema, else compiled now."""
    shipped = (SCHEMA_DIR / f"{schema.name}.yaml").is_file() and load_schema(schema.name) is schema
    return (
        load_ruleset(schema.name) if shipped else ruleset_from_schema(schema, where=f"schema {schema.name!r}")
    )
