"""The registry of rule kinds: adding a kind is one function set in one of these modules
(``presence``, ``typed``, ``text``) and its text in :mod:`dataflow.quality.messages`."""

from __future__ import annotations

from dataflow.quality.kinds import presence, text, typed  # noqa: F401  (each module registers its kinds)
from dataflow.quality.kinds.base import KINDS, CompiledRule, FieldInput, Rule, RuleKind

ORDERED: tuple[RuleKind, ...] = tuple(sorted(KINDS.values(), key=lambda kind: kind.order))
RULE_KINDS: tuple[str, ...] = tuple(kind.name for kind in ORDERED if kind.parse is not None)
"""Every kind a schema may declare under ``rules:``; a failure's code is ``<field>.<kind>``."""

__all__ = ["KINDS", "ORDERED", "RULE_KINDS", "CompiledRule", "FieldInput", "Rule", "RuleKind"]
