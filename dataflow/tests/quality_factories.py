"""Tiny schemas and frames for the quality tests."""

from __future__ import annotations

from typing import Any

import polars as pl

from dataflow.quality import LINE_COLUMN
from dataflow.quality.rules import RuleSet, ruleset_from_schema
from dataflow.schema import parse_schema

WHERE = "test.yaml"
"""The file name the loader's errors name for these inline schemas."""


def ruleset(document: dict[str, Any]) -> RuleSet:
    return ruleset_from_schema(parse_schema(document, where=WHERE), where=WHERE)


def one_field(field: dict[str, Any], *, quality: dict[str, Any] | None = None) -> RuleSet:
    """A schema with the string key ``id`` plus ``field`` (named ``v`` unless it says)."""
    document: dict[str, Any] = {
        "name": "t",
        "key": "id",
        "fields": [{"name": "id", "type": "string"}, {"name": "v", **field}],
    }
    if quality is not None:
        document["quality"] = quality
    return ruleset(document)


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of text in file order, on lines 2, 3, ... like a CSV after its header."""
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)).with_row_index(LINE_COLUMN, offset=2)


def column(values: list[Any]) -> pl.DataFrame:
    """Field ``v`` holding ``values``, each row with its own id."""
    return frame([{"id": f"id{i}", "v": v} for i, v in enumerate(values)])
