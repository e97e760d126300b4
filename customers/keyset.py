"""Exact keyset pagination over ``(ordering field, id)``: the rules, without HTTP.

A page is one query: ``WHERE (field, id) > (last field value, last id)
ORDER BY field, id LIMIT n + 1`` (``<`` and ``DESC`` when descending). ``id``
breaks ties, so the order is total and every row is returned exactly once
however many rows share a ``country`` or an ``ingested_at``. No COUNT, no OFFSET:
a btree on ``(field, id)`` seeks straight to the page.

NULLs sort last ascending and first descending (PostgreSQL's defaults, so one
btree serves both directions); a page boundary on a NULL value is handled by
:func:`keyset_after`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, models
from django.db.models import F, Q, QuerySet, Value
from django.db.models.sql.datastructures import BaseTable

from customers.expressions import RowCompare
from customers.prepared import rows_read

UNKNOWN_ORDERING = "Unknown ordering {value!r}; use one of: {allowed} (prefix '-' for descending)."


class KeysetError(ValueError):
    """A bad ``ordering`` or ``cursor`` parameter; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.field}" if self.descending else self.field

    def reversed(self) -> Ordering:
        return Ordering(field=self.field, descending=not self.descending)


@dataclass(frozen=True)
class Position:
    """Where a page starts: after (``forward``) or before the row ``(value, pk)``."""

    ordering: Ordering
    value: Any
    pk: int
    forward: bool


def ordering_parse(*, value: str, allowed: tuple[str, ...]) -> Ordering:
    """``"-country"`` -> ``Ordering("country", descending=True)``; anything else unknown is an error."""
    text = value.strip()
    field = text.removeprefix("-")
    if field not in allowed:
        raise KeysetError("ordering", UNKNOWN_ORDERING.format(value=value, allowed=", ".join(allowed)))
    return Ordering(field=field, descending=text.startswith("-"))


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _order_by(model: type[models.Model], ordering: Ordering) -> list[Any]:
    nullable = _field(model, ordering.field).null
    column = F(ordering.field)
    if ordering.descending:
        first = column.desc(nulls_first=True) if nullable else column.desc()
        return [first, F("pk").desc()]
    return [column.asc(nulls_last=True) if nullable else column.asc(), F("pk").asc()]


def keyset_after(*, model: type[models.Model], ordering: Ordering, value: Any, pk: int) -> Q:
    """Rows strictly after ``(value, pk)`` in ``ordering`` (NULLs last ascending, first descending)."""
    field = _field(model, ordering.field)
    operator = "<" if ordering.descending else ">"
    pk_after = Q(pk__lt=pk) if ordering.descending else Q(pk__gt=pk)
    if value is None:
        # On the NULL block: later NULLs, then (descending) every non-NULL row.
        null_block = Q(**{f"{ordering.field}__isnull": True}) & pk_after
        if ordering.descending:
            return null_block | Q(**{f"{ordering.field}__isnull": False})
        return null_block
    after = Q(RowCompare([F(ordering.field), F("pk")], operator, [Value(value, field), Value(pk)]))
    if field.null and not ordering.descending:
        after |= Q(**{f"{ordering.field}__isnull": True})
    return after


def keyset_page(
    *, queryset: QuerySet[Any], ordering: Ordering, position: Position | None, size: int
) -> tuple[list[Any], bool]:
    """One page in display order, and whether more rows lie beyond it in the direction travelled.

    One query of ``size + 1`` rows; a page before ``position`` is read in
    reverse order and flipped.
    """
    model = queryset.model
    travel = ordering if position is None or position.forward else ordering.reversed()
    # Without filters the plan is an index walk from the bound whatever its value: prepared.
    # A filter's best plan may depend on its value (a rare date, a common search term).
    unfiltered = not queryset.query.where
    bound = _prebuilt_bound(queryset, travel, position) if unfiltered else None
    if position is not None and bound is None:
        after = keyset_after(model=model, ordering=travel, value=position.value, pk=position.pk)
        queryset = queryset.filter(after)
    rows = _values_page(queryset, travel, size + 1, prepare=unfiltered, bound=bound)
    if rows is None:  # model instances, or a query the statement below does not cover
        if bound is not None and position is not None:
            queryset = queryset.filter(
                keyset_after(model=model, ordering=travel, value=position.value, pk=position.pk)
            )
        rows = list(queryset.order_by(*_order_by(model, travel))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if travel != ordering:
        rows.reverse()
    return rows, more


def _prebuilt_bound(
    queryset: QuerySet[Any], ordering: Ordering, position: Position | None
) -> tuple[str, list[Any]] | None:
    """``(field, id) > (%s, %s)`` (``<`` descending) and its parameters, for a bound on a non-NULL value.

    What :func:`keyset_after` compiles to there, built once per ordering
    instead of by the ORM on every page; None leaves the bound to the ORM
    (no position, a NULL value or a nullable column).
    """
    if position is None or position.value is None:
        return None
    field = _field(queryset.model, ordering.field)
    if field.null:
        return None
    connection = connections[queryset.db]
    model: Any = queryset.model  # a class is hashable; mypy's Hashable protocol disagrees
    sql = _bound_sql(model, ordering, connection.alias)
    return sql, [field.get_db_prep_value(position.value, connection), position.pk]


@functools.cache
def _bound_sql(model: type[models.Model], ordering: Ordering, alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(model._meta.db_table)
    column = f"{table}.{quote(_field(model, ordering.field).column)}"
    pk = f"{table}.{quote(model._meta.pk.column)}"
    return f"({column}, {pk}) {'<' if ordering.descending else '>'} (%s, %s)"


def _values_page(
    queryset: QuerySet[Any],
    ordering: Ordering,
    limit: int,
    *,
    prepare: bool,
    bound: tuple[str, list[Any]] | None = None,
) -> list[dict[str, Any]] | None:
    """The first ``limit`` rows of a ``values()`` queryset in ``ordering``, as dicts; None if not covered.

    Compiling the whole queryset cost more CPU than the index seek it runs:
    only its WHERE clause (the filters and the keyset bound) is compiled here;
    the column list and ORDER BY, fixed for a model, field list and ordering,
    are built once (:func:`_statement_parts`); ``bound``, SQL and parameters
    ANDed to it, is a prebuilt keyset bound (:func:`_prebuilt_bound`). Covered: one table, plain
    columns without database converters, no annotation, DISTINCT, slice or
    extra; anything else returns None and goes through the ORM.
    """
    query = queryset.query
    if not _plain_values_query(query):
        return None
    connection = connections[queryset.db]
    parts = _statement_parts(query.model, tuple(query.values_select), ordering, connection.alias)
    if parts is None:
        return None
    select, order, names = parts
    try:
        where, params = query.get_compiler(connection=connection).compile(query.where)
    except EmptyResultSet:
        return []
    except FullResultSet:
        where, params = "", []
    if bound is not None:
        where, params = (f"{where} AND {bound[0]}" if where else bound[0]), [*params, *bound[1]]
    # LIMIT as a literal (an int): a prepared statement then has the plan for that page size;
    # with LIMIT $n the planner would keep planning every run, unsure how many rows it reads.
    sql = f"{select} WHERE {where} {order}" if where else f"{select} {order}"
    sql = f"{sql} LIMIT {int(limit)}"
    rows = rows_read(connection, sql, params, prepare=prepare, binary=True)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _plain_values_query(query: Any) -> bool:
    return bool(
        query.values_select
        and len(query.alias_map) == 1
        and all(isinstance(join, BaseTable) for join in query.alias_map.values())
        and not (query.annotation_select or query.extra_select or query.extra_tables)
        and not (query.distinct or query.combinator or query.select_for_update or query.group_by)
        and query.low_mark == 0
        and query.high_mark is None
    )


# Column types Django reads as text that psycopg's binary loaders would turn into objects.
_TEXT_READ_TYPES = frozenset({"inet", "cidr", "json", "jsonb"})


@functools.cache
def _statement_parts(
    model: type[models.Model], names: tuple[str, ...], ordering: Ordering, alias: str
) -> tuple[str, str, tuple[str, ...]] | None:
    """``SELECT ... FROM t``, ``ORDER BY ...``, the row keys; None if a column needs a converter
    or is read differently in binary."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    fields = [model._meta.pk if name == "pk" else _field(model, name) for name in names]
    for field in fields:
        assert field is not None
        if hasattr(field, "from_db_value") or connection.ops.get_db_converters(field.get_col(table)):
            return None
        if field.db_type(connection) in _TEXT_READ_TYPES:  # a prepared page reads binary rows
            return None
    columns = ", ".join(f"{quote(table)}.{quote(field.column)}" for field in fields if field is not None)
    sort = _field(model, ordering.field)
    column = f"{quote(table)}.{quote(sort.column)}"
    pk = f"{quote(table)}.{quote(model._meta.pk.column)}"
    if ordering.descending:
        order = f"ORDER BY {column} DESC{' NULLS FIRST' if sort.null else ''}, {pk} DESC"
    else:
        order = f"ORDER BY {column} ASC{' NULLS LAST' if sort.null else ''}, {pk} ASC"
    return f"SELECT {columns} FROM {quote(table)}", order, names
