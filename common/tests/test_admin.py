"""The read-only admin: every admin of records the code writes uses it, and it refuses every write."""

from __future__ import annotations

from django.contrib import admin
from django.test import RequestFactory

from common.admin import ReadOnlyAdminMixin

WRITTEN_BY_THE_CODE = ("etl", "alerts", "customers")
"""Apps whose records only the pipeline writes (runs, quarantined records, alerts, customers)."""


def test_every_admin_of_records_the_code_writes_is_read_only() -> None:
    admins = [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in WRITTEN_BY_THE_CODE
    ]
    inlines = [inline for model_admin in admins for inline in model_admin.inlines]

    assert len(admins) == 4
    assert [type(a).__name__ for a in admins if not isinstance(a, ReadOnlyAdminMixin)] == []
    assert [i.__name__ for i in inlines if not issubclass(i, ReadOnlyAdminMixin)] == []


def test_the_mixin_refuses_adding_changing_and_deleting() -> None:
    request = RequestFactory().get("/admin/")
    mixin = ReadOnlyAdminMixin()

    assert (
        mixin.has_add_permission(request),
        mixin.has_change_permission(request),
        mixin.has_delete_permission(request),
    ) == (False, False, False)
