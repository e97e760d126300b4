"""Edits made through the ORM reach the lake's change log as records: the table's columns but
the generated ones (``search_text`` is derived from the others, not data)."""

from __future__ import annotations

import pytest

from customers.models import Customer
from lake.models import Change
from lake.tests import support as lake_support
from lake.tests.support import customer

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def test_an_edit_in_the_change_log_has_the_record_columns_without_the_generated_ones(lake) -> None:
    row = Customer.objects.create(
        **customer("E1"), source_file="edit.csv", ingested_at="2026-01-01T00:00:00Z"
    )
    row.city = "Lyon"
    row.save()
    Customer.objects.get(pk=row.pk).delete()

    changes = list(Change.objects.order_by("seq").values_list("op", "before", "after"))
    assert [op for op, _, _ in changes] == ["i", "u", "d"]
    record = {"id", *Customer.field_names()}
    assert Customer.generated_columns() == ("search_text",)
    for _op, before, after in changes:
        for state in (before, after):
            assert state is None or set(state) == record
    _op, before, after = changes[1]
    assert (before or {})["city"] == "Paris"
    assert (after or {})["city"] == "Lyon"
