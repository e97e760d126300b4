"""What a rule kind is, and the registry each kind joins: a kind lives in one place.

A :class:`RuleKind` says how a YAML value becomes a :class:`Rule` (``parse``),
what a field's declaration implies (``implied``) and how the rule becomes two
Narwhals expressions (``compile``): ``failed`` (boolean, never null) and
``message`` (the human line for a failing row). The expressions use only
operations Narwhals maps to both Polars and PySpark, so both engines run them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import narwhals as nw

from dataflow.quality import messages as msg
from dataflow.schema import FieldSpec


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
class FieldInput:
    """Where one field's values are in the frame being checked."""

    text: nw.Expr
    """The value as text (the raw string when available)."""
    value: nw.Expr
    """The typed value (parsed here when the frame still holds a string)."""
    present: nw.Expr
    """The text is neither null nor blank."""
    repeated: nw.Expr | None = None
    """The value occurs more than once in the whole file (``REPEATED_PREFIX`` column), when the
    engine counted it over the file; None: counted over the frame being checked."""


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    failed: nw.Expr
    message: nw.Expr

    @property
    def code(self) -> str:
        return self.rule.code


def preview(text: nw.Expr) -> nw.Expr:
    """``text`` cut to :data:`messages.VALUE_PREVIEW_CHARS` characters for a message."""
    limit = msg.VALUE_PREVIEW_CHARS
    return (
        nw.when(text.str.len_chars() > limit)
        .then(nw.concat_str(text.str.slice(0, limit), nw.lit("…")))
        .otherwise(text)
    )


def failure_message(code: str, text: nw.Expr, *parts: nw.Expr | str) -> nw.Expr:
    """``<code>: "<value>" <parts>``: the form of every value failure."""
    pieces = [nw.lit(p) if isinstance(p, str) else p for p in parts]
    return nw.concat_str(nw.lit(f'{code}: "'), preview(text), nw.lit('" '), *pieces)


Parse = Callable[[Rule, Any, FieldSpec], Rule]
"""(the rule so far, its YAML value, the field) → the completed rule; ``ValueError`` names the problem."""
Compile = Callable[[Rule, FieldInput, date], CompiledRule]
"""(rule, where the field's values are, today) → its expressions."""
Implied = Callable[[FieldSpec], Rule | None]
"""A field's declaration → the rule it implies, if any (``required: true`` → ``<field>.required``)."""


@dataclass(frozen=True)
class RuleKind:
    name: str
    order: int
    """Position among the kinds: in :data:`RULE_KINDS`, among a field's implied rules."""
    compile: Compile
    parse: Parse | None = None
    """None: the kind cannot be declared under ``rules:`` (it is only implied)."""
    implied: Implied | None = None
    storage: bool = False
    """A limit of what the customers table can store: checked after every other rule."""


KINDS: dict[str, RuleKind] = {}
"""Every rule kind by name (filled by the kinds' modules, imported by :mod:`dataflow.quality.kinds`)."""


def register(kind: RuleKind) -> RuleKind:
    if kind.name in KINDS:
        raise ValueError(f"rule kind {kind.name!r} registered twice")
    KINDS[kind.name] = kind
    return kind


def flag(rule: Rule, value: Any, spec: FieldSpec) -> Rule:
    """Parse a kind whose YAML value is ``true`` (``required: true``)."""
    if value is not True:
        raise ValueError(msg.RULE_BAD_FLAG.format(kind=rule.kind, value=value))
    return rule
