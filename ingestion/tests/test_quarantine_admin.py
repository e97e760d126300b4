"""The quarantine admin: read-only, filter by run and by rule, search the reasons."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse

from ingestion.models import IngestionRun, QuarantinedRecord
from ingestion.quarantine_admin import QuarantinedRecordAdmin

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_admin() -> QuarantinedRecordAdmin:
    return QuarantinedRecordAdmin(QuarantinedRecord, admin.AdminSite(name="quality_test"))


@pytest.fixture
def records() -> dict[str, Any]:
    first = IngestionRun.objects.create(
        source="local", filename="a.csv", status="succeeded", rows_quarantined=2
    )
    second = IngestionRun.objects.create(
        source="local", filename="b.csv", status="rejected", rows_quarantined=1
    )
    email = QuarantinedRecord.objects.create(
        run=first,
        line_number=3,
        raw={"Email": "x"},
        rule_codes=["email.pattern"],
        messages=['email.pattern: "x" is not an email address'],
    )
    both = QuarantinedRecord.objects.create(
        run=first,
        line_number=7,
        raw={"Index": "12x"},
        rule_codes=["index.type", "email.pattern"],
        messages=['index.type: "12x" is not an integer', 'email.pattern: "y" is not an email address'],
    )
    ragged = QuarantinedRecord.objects.create(
        run=second, line_number=2, raw_text="a,b", rule_codes=["row.field_count"], messages=["expected 12"]
    )
    return {"first": first, "second": second, "email": email, "both": both, "ragged": ragged}


def _listed(model_admin: QuarantinedRecordAdmin, **params: str) -> set[int]:
    request = RequestFactory().get("/", params)
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    changelist = model_admin.get_changelist_instance(request)
    return {record.pk for record in changelist.get_queryset(request)}


def test_filter_by_run_lists_only_that_runs_records(model_admin: Any, records: dict[str, Any]) -> None:
    assert _listed(model_admin, run=str(records["second"].pk)) == {records["ragged"].pk}


@pytest.mark.parametrize("run", ["\u00b2", "\u0663", "abc", "-1", "9" * 25])
def test_a_run_that_is_not_an_ascii_number_lists_nothing(
    model_admin: Any, records: dict[str, Any], run: str
) -> None:
    assert _listed(model_admin, run=run) == set()


def test_filter_by_rule_lists_every_record_that_failed_it(model_admin: Any, records: dict[str, Any]) -> None:
    assert _listed(model_admin, rule="email.pattern") == {records["email"].pk, records["both"].pk}


def test_rule_filter_offers_the_codes_present(model_admin: Any, records: dict[str, Any]) -> None:
    request = RequestFactory().get("/", {"run": str(records["first"].pk)})
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    changelist = model_admin.get_changelist_instance(request)
    (rule_filter,) = [f for f in changelist.filter_specs if f.parameter_name == "rule"]
    assert [value for value, _label in rule_filter.lookup_choices] == ["email.pattern", "index.type"]


def test_search_finds_records_by_message_text(model_admin: Any, records: dict[str, Any]) -> None:
    assert _listed(model_admin, q="12x") == {records["both"].pk}


def test_admin_is_read_only(model_admin: Any) -> None:
    request = RequestFactory().get("/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_site_admin_lists_a_runs_records_failing_a_rule(admin_client: Any, records: dict[str, Any]) -> None:
    from django.urls import reverse

    url = reverse("admin:etl_quarantinedrecord_changelist")
    page = admin_client.get(url, {"run": records["first"].pk, "rule": "index.type"})
    assert page.status_code == 200
    assert [r.pk for r in page.context["cl"].result_list] == [records["both"].pk]


def test_a_quarantined_record_s_page_shows_codes_and_reasons_as_text(admin_client: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="a.csv")
    record = QuarantinedRecord.objects.create(
        run=run,
        line_number=4,
        rule_codes=["email.pattern", "city.required"],
        messages=["bad email", "no city"],
    )
    body = admin_client.get(reverse("admin:etl_quarantinedrecord_change", args=[record.pk])).content.decode()
    assert "email.pattern, city.required" in body
    assert "bad email; no city" in body
    assert "[&quot;" not in body
