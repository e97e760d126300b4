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

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, QuerySet, Value

from customers.expressions import RowCompare

CURSOR_SALT = "customers.keyset.cursor"

INVALID_CURSOR = "Invalid cursor: it was changed or was not produced by this API."
CURSOR_ORDERING_MISMATCH = (
    "This cursor belongs to ordering {cursor!r}, not {requested!r}; start again without it."
)
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
    if position is not None:
        after = keyset_after(model=model, ordering=travel, value=position.value, pk=position.pk)
        queryset = queryset.filter(after)
    rows = list(queryset.order_by(*_order_by(model, travel))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if travel != ordering:
        rows.reverse()
    return rows, more


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def cursor_encode(*, ordering: Ordering, row: models.Model | Mapping[str, Any], forward: bool) -> str:
    """A signed token for the page after (or before) ``row``: a model or a ``values()`` dict with "pk"."""
    if isinstance(row, Mapping):
        value, pk = row[ordering.field], row["pk"]
    else:
        value, pk = getattr(row, ordering.field), row.pk
    payload = {"o": ordering.param, "v": _json_value(value), "i": pk, "f": forward}
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def cursor_decode(*, token: str, ordering: Ordering, model: type[models.Model]) -> Position:
    """The position ``token`` stands for; a changed or foreign token is a :class:`KeysetError`."""
    try:
        payload = signing.loads(token, salt=CURSOR_SALT)
    except signing.BadSignature as exc:
        raise KeysetError("cursor", INVALID_CURSOR) from exc
    # Signed by us, so well-formed unless SECRET_KEY was reused elsewhere; check anyway.
    if not isinstance(payload, dict) or set(payload) != {"o", "v", "i", "f"}:
        raise KeysetError("cursor", INVALID_CURSOR)
    if payload["o"] != ordering.param:
        raise KeysetError(
            "cursor", CURSOR_ORDERING_MISMATCH.format(cursor=payload["o"], requested=ordering.param)
        )
    pk, forward = payload["i"], payload["f"]
    if not isinstance(pk, int) or isinstance(pk, bool) or not isinstance(forward, bool):
        raise KeysetError("cursor", INVALID_CURSOR)
    field = _field(model, ordering.field)
    try:
        value = None if payload["v"] is None else field.to_python(payload["v"])
    except (ValidationError, TypeError, ValueError) as exc:
        raise KeysetError("cursor", INVALID_CURSOR) from exc
    return Position(ordering=ordering, value=value, pk=pk, forward=forward)
