"""Signed cursor tokens for keyset pages: what a ``next`` or ``previous`` link carries.

A token is the page boundary's ``(ordering, value, id, direction)``, signed with
``SECRET_KEY`` (Django's signing): a changed token, or one from another ordering,
is refused with a 400 rather than trusted into a query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models

from customers.keyset import KeysetError, Ordering, Position, model_field

# The module the tokens were first signed in: kept, so links handed out before stay valid.
CURSOR_SALT = "customers.keyset.cursor"

INVALID_CURSOR = "Invalid cursor: it was changed or was not produced by this API."
CURSOR_ORDERING_MISMATCH = (
    "This cursor belongs to ordering {cursor!r}, not {requested!r}; start again without it."
)


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
    # Not compressed: zlib seldom shortens a payload this small (one value and an id), and
    # trying cost 7 µs a link. Tokens handed out compressed still decode (loads reads both).
    return signing.dumps(payload, salt=CURSOR_SALT)


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
    field = model_field(model, ordering.field)
    try:
        value = None if payload["v"] is None else field.to_python(payload["v"])
    except (ValidationError, TypeError, ValueError) as exc:
        raise KeysetError("cursor", INVALID_CURSOR) from exc
    return Position(ordering=ordering, value=value, pk=pk, forward=forward)
