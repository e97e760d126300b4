"""The read-only admin: every admin of records the code writes uses it, and it refuses every write;
the date hierarchy answers a day beyond the calendar like any bad filter."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from common.admin import DateHierarchyAdminMixin, ReadOnlyAdminMixin, date_hierarchies_bound

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


def test_every_admin_with_a_date_hierarchy_bounds_its_dates_ours_and_third_party() -> None:
    with_hierarchy = [a for a in admin.site._registry.values() if a.date_hierarchy]
    packages = {cls.__module__.split(".")[0] for a in with_hierarchy for cls in type(a).__mro__}

    assert {"ingestion", "axes"} <= packages
    assert [type(a).__name__ for a in with_hierarchy if not isinstance(a, DateHierarchyAdminMixin)] == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["accessattempt", "accesslog", "accessfailurelog"])
def test_a_year_beyond_the_calendar_in_the_axes_admins_is_the_bad_filter_page(
    admin_client: Client, model: str
) -> None:
    response = admin_client.get(reverse(f"admin:axes_{model}_changelist"), {"attempt_time__year": "9999"})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_binding_the_date_hierarchies_again_changes_nothing() -> None:
    assert date_hierarchies_bound(admin.site) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "day",
    [
        {"started_at__year": "9" * 25},
        {"started_at__year": "9999"},
        {"started_at__year": "9999", "started_at__month": "12"},
        {"started_at__year": "9999", "started_at__month": "12", "started_at__day": "31"},
        {"started_at__year": "2026", "started_at__month": "13"},
    ],
)
def test_a_day_beyond_the_calendar_is_the_admin_s_bad_filter_page(
    admin_client: Client, day: dict[str, str]
) -> None:
    response = admin_client.get(reverse("admin:etl_ingestionrun_changelist"), day)

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
