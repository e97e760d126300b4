"""Signed cursor tokens: what a link carries comes back as the same position, and only that."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing

from customers.cursors import CURSOR_SALT, INVALID_CURSOR, cursor_decode, cursor_encode
from customers.keyset import KeysetError, Ordering, Position
from customers.models import Customer

CITY = Ordering(field="city", descending=False)
NEWEST = Ordering(field="ingested_at", descending=True)


def test_a_token_decodes_to_the_row_and_direction_it_was_made_from() -> None:
    at = dt.datetime(2026, 12, 4, 22, 41, 14, 123456, tzinfo=dt.UTC)
    row = {"ingested_at": at, "pk": 123_456}

    token = cursor_encode(ordering=NEWEST, row=row, forward=False)

    assert cursor_decode(token=token, ordering=NEWEST, model=Customer) == Position(
        ordering=NEWEST, value=at, pk=123_456, forward=False
    )


def test_a_compressed_token_handed_out_before_still_decodes() -> None:
    payload = {"o": "city", "v": "Llanfair" * 20, "i": 7, "f": True}
    token = signing.dumps(payload, salt=CURSOR_SALT, compress=True)
    assert token.startswith(".")  # the compressed form, as cursor_encode wrote it until now

    position = cursor_decode(token=token, ordering=CITY, model=Customer)

    assert position == Position(ordering=CITY, value="Llanfair" * 20, pk=7, forward=True)


def test_a_token_signed_with_another_salt_is_refused() -> None:
    token = signing.dumps({"o": "city", "v": "Paris", "i": 7, "f": True}, salt="elsewhere")
    with pytest.raises(KeysetError, match=INVALID_CURSOR):
        cursor_decode(token=token, ordering=CITY, model=Customer)
