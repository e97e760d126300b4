"""Row filters pushed from a SQL query into the Iceberg scans (partition and file pruning).

DuckDB reads the curated tables as Arrow produced by pyiceberg scans. To keep
those scans small, the WHERE clause is read from DuckDB's own parse tree
(``json_serialize_sql``) and its simple conjuncts on a table's columns
(``col <op> constant``, ``col IN (...)``, ``col BETWEEN a AND b``) become the
scan's row filter. The pushed filter only ever selects a superset of the rows
the query keeps (DuckDB still applies the full WHERE): anything not understood
is simply not pushed, and a table read without a filter anywhere in the query
is scanned whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb
import pyiceberg.expressions as expressions
from pyiceberg.expressions import AlwaysTrue, BooleanExpression

from lake.config import NAMESPACE

# pyiceberg's predicates are pydantic models whose __init__ mypy cannot see.
ex: Any = expressions

_COMPARISONS = {
    "COMPARE_EQUAL": "EqualTo",
    "COMPARE_NOTEQUAL": "NotEqualTo",
    "COMPARE_LESSTHAN": "LessThan",
    "COMPARE_LESSTHANOREQUALTO": "LessThanOrEqual",
    "COMPARE_GREATERTHAN": "GreaterThan",
    "COMPARE_GREATERTHANOREQUALTO": "GreaterThanOrEqual",
}
# col <op> constant written as constant <op> col
_MIRRORED = {
    "COMPARE_LESSTHAN": "COMPARE_GREATERTHAN",
    "COMPARE_LESSTHANOREQUALTO": "COMPARE_GREATERTHANOREQUALTO",
    "COMPARE_GREATERTHAN": "COMPARE_LESSTHAN",
    "COMPARE_GREATERTHANOREQUALTO": "COMPARE_LESSTHANOREQUALTO",
    "COMPARE_EQUAL": "COMPARE_EQUAL",
    "COMPARE_NOTEQUAL": "COMPARE_NOTEQUAL",
}
_INTEGER_KINDS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}
_CASTS = {"DATE", "VARCHAR", "TEXT", "STRING"}

_NOT_PUSHED = object()


def parse_tree(sql: str) -> dict[str, Any]:
    with duckdb.connect() as con:
        rows = con.execute("SELECT json_serialize_sql($1::VARCHAR)", [sql]).fetchall()
    tree: dict[str, Any] = json.loads(rows[0][0])
    return tree


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _is_lake_table(node: dict[str, Any]) -> bool:
    return node.get("type") == "BASE_TABLE" and str(node.get("schema_name", "")).lower() == NAMESPACE


def referenced_tables(tree: dict[str, Any]) -> set[str]:
    """Lake tables named ``curated.<name>`` anywhere in the statement(s)."""
    return {str(n["table_name"]).lower() for n in _walk(tree.get("statements", [])) if _is_lake_table(n)}


def _constant(node: dict[str, Any]) -> Any:
    if node.get("class") == "CAST" and not node.get("try_cast"):
        type_name = str(node.get("type_expr", {}).get("type_name", "")).upper()
        if type_name not in _CASTS:
            return _NOT_PUSHED
        inner = _constant(node.get("child", {}))
        return inner if isinstance(inner, str) else _NOT_PUSHED
    if node.get("class") != "CONSTANT":
        return _NOT_PUSHED
    literal = node.get("literal") or {}
    kind, text = str(literal.get("kind", "")).upper(), literal.get("text")
    if text is None:
        return _NOT_PUSHED
    if kind in ("STRING", "VARCHAR"):
        return str(text)
    if kind in _INTEGER_KINDS:
        return int(text)
    return _NOT_PUSHED


def _column(node: dict[str, Any], *, names: set[str], columns: set[str]) -> str | None:
    if node.get("class") != "COLUMN_REF":
        return None
    parts = [str(p) for p in node.get("column_names", [])]
    if len(parts) == 2 and parts[0].lower() not in names:
        return None
    if len(parts) not in (1, 2) or parts[-1].lower() not in columns:
        return None
    return parts[-1].lower()


def _predicate(node: dict[str, Any], *, names: set[str], columns: set[str]) -> BooleanExpression | None:
    kind = node.get("type")
    if kind in _COMPARISONS:
        left, right = node.get("left", {}), node.get("right", {})
        column, value = _column(left, names=names, columns=columns), _constant(right)
        if column is None:
            column, value, kind = (
                _column(right, names=names, columns=columns),
                _constant(left),
                _MIRRORED[kind],
            )
        if column is None or value is _NOT_PUSHED:
            return None
        return getattr(ex, _COMPARISONS[kind])(column, value)
    if kind == "COMPARE_IN":
        children = node.get("children", [])
        column = _column(children[0], names=names, columns=columns) if children else None
        values = [_constant(c) for c in children[1:]]
        if column is None or not values or any(v is _NOT_PUSHED for v in values):
            return None
        return ex.In(column, values)
    if kind == "COMPARE_BETWEEN":
        column = _column(node.get("input", {}), names=names, columns=columns)
        low, high = _constant(node.get("lower", {})), _constant(node.get("upper", {}))
        if column is None or low is _NOT_PUSHED or high is _NOT_PUSHED:
            return None
        return ex.And(ex.GreaterThanOrEqual(column, low), ex.LessThanOrEqual(column, high))
    return None


def _conjuncts(node: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    if not node:
        return
    if node.get("type") == "CONJUNCTION_AND":
        for child in node.get("children", []):
            yield from _conjuncts(child)
    else:
        yield node


def row_filters(tree: dict[str, Any], columns: dict[str, set[str]]) -> dict[str, BooleanExpression]:
    """Per lake table: the OR over its references of what each reference's WHERE lets through."""
    per_reference: dict[str, list[BooleanExpression]] = {}
    claimed: set[int] = set()
    for node in _walk(tree.get("statements", [])):
        if node.get("type") != "SELECT_NODE":
            continue
        source = node.get("from_table") or {}
        if not _is_lake_table(source):
            continue
        name = str(source["table_name"]).lower()
        claimed.add(id(source))
        names = {name, f"{NAMESPACE}.{name}"} | (
            {str(source["alias"]).lower()} if source.get("alias") else set()
        )
        pushed = [
            p
            for c in _conjuncts(node.get("where_clause"))
            if (p := _predicate(c, names=names, columns=columns.get(name, set()))) is not None
        ]
        per_reference.setdefault(name, []).append(
            AlwaysTrue() if not pushed else pushed[0] if len(pushed) == 1 else ex.And(*pushed)
        )
    for node in _walk(tree.get("statements", [])):
        # Joins, subqueries in FROM lists, ...: read whole.
        if _is_lake_table(node) and id(node) not in claimed:
            per_reference.setdefault(str(node["table_name"]).lower(), []).append(AlwaysTrue())
    return {
        name: AlwaysTrue()
        if any(isinstance(f, AlwaysTrue) for f in filters)
        else filters[0]
        if len(filters) == 1
        else ex.Or(*filters)
        for name, filters in per_reference.items()
    }


_SYMBOLS = {
    "EqualTo": "=",
    "NotEqualTo": "<>",
    "LessThan": "<",
    "LessThanOrEqual": "<=",
    "GreaterThan": ">",
    "GreaterThanOrEqual": ">=",
}


def filter_text(expression: BooleanExpression) -> str:
    """A pushed filter as people read it: ``subscription_date >= 2021-06-01 AND ...``."""
    kind = type(expression).__name__
    node: Any = expression
    if kind in ("And", "Or"):
        return f"({filter_text(node.left)} {kind.upper()} {filter_text(node.right)})"
    if kind in _SYMBOLS:
        return f"{node.term.name} {_SYMBOLS[kind]} {node.literal.value}"
    if kind == "In":
        values = ", ".join(sorted(str(v.value) for v in node.literals))
        return f"{node.term.name} IN ({values})"
    if kind == "AlwaysTrue":
        return "none"
    return repr(expression)
