"""Each filter of ``/api/customers/``, and its 400 for a bad value."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.http import QueryDict
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from customers.filters import CustomerFilterSet, PrebuiltFilterBackend
from customers.models import Customer
from customers.selectors import customer_list
from customers.tests.factories import INGESTED_AT, customer_build
from customers.views import CustomerViewSet

URL = "/api/customers/"


@pytest.fixture
def rows(db: None) -> dict[str, Customer]:
    named = {
        "usa": customer_build(country="USA", city="Austin", company="Acme Corp"),
        "france": customer_build(country="France", city="Lyon", company="Globex"),
        "chile": customer_build(
            country="Chile",
            city="Santiago",
            company="Initech",
            source_file="partner-b.json",
            subscription_date=dt.date(2022, 6, 30),
            ingested_at=INGESTED_AT + dt.timedelta(days=2),
        ),
        "usa2": customer_build(
            country="USA",
            city="Boston",
            company="ACME CORP",
            subscription_date=dt.date(2020, 1, 1),
            ingested_at=INGESTED_AT - dt.timedelta(days=2),
        ),
    }
    for row in named.values():
        row.save()
    return named


def _ids(api: APIClient, params: dict[str, Any]) -> set[str]:
    response = api.get(URL, params)
    assert response.status_code == 200, response.content
    return {row["customer_id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"country": "usa"}, {"usa", "usa2"}),
        ({"country": "Us"}, set()),
        ({"city": "LYON"}, {"france"}),
        ({"company": "acme corp"}, {"usa", "usa2"}),
        ({"source_file": "partner-b.json"}, {"chile"}),
        ({"source_file": "PARTNER-B.JSON"}, set()),
        ({"subscription_date_after": "2022-06-30"}, {"chile"}),
        ({"subscription_date_before": "2020-01-01"}, {"usa2"}),
        ({"subscription_date_after": "2020-01-01", "subscription_date_before": "2020-01-01"}, {"usa2"}),
        ({"ingested_after": "2026-01-17T09:30:00Z"}, {"chile"}),
        ({"ingested_before": "2026-01-13T09:30:00Z"}, {"usa2"}),
        ({"ingested_after": "2026-01-15T10:30:00+01:00", "ingested_before": "2026-01-15T09:30:00"}, None),
        ({"country": "USA", "city": "boston"}, {"usa2"}),
    ],
)
def test_filter_returns_exactly_the_matching_rows(
    api: APIClient, rows: dict[str, Customer], params: dict[str, str], expected: set[str] | None
) -> None:
    if (
        expected is None
    ):  # an instant given with an offset, and a naive one read as UTC: both bounds inclusive
        expected = {name for name, row in rows.items() if row.ingested_at == INGESTED_AT}
    assert _ids(api, params) == {rows[name].customer_id for name in expected}


def test_offsets_postgresql_refuses_are_converted_to_utc(api: APIClient, rows: dict[str, Customer]) -> None:
    # +16:44 is a valid offset in Python but out of range for PostgreSQL (found by the fuzz test).
    assert _ids(api, {"ingested_before": "2026-01-13T09:30:00-16:44"}) == {rows["usa2"].customer_id}
    assert _ids(api, {"ingested_after": "0267-07-05T08:17:49+16:44"}) == {
        r.customer_id for r in rows.values()
    }


def test_customer_id_filter_is_exact(api: APIClient, rows: dict[str, Customer]) -> None:
    target = rows["france"].customer_id
    assert _ids(api, {"customer_id": target}) == {target}
    assert _ids(api, {"customer_id": target.lower()}) == set()


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("subscription_date_after", "13/45/2021"),
        ("subscription_date_before", "2021-02-30"),
        ("ingested_after", "yesterday"),
        ("ingested_before", "2026-13-01T00:00:00Z"),
        ("ingested_after", "0001-01-01T00:00:00+01:00"),
        ("start_date", "yesterday"),
        ("start_date", "2025-02-30"),
        ("end_date", "2025-03-22T10:00:00Z"),
        ("end_date", "22/03/2025"),
        ("country", "US\x00A"),
        ("search", "ali\x1fce"),
    ],
)
def test_bad_value_is_a_400_naming_the_parameter(
    api: APIClient, rows: dict[str, Customer], param: str, value: str
) -> None:
    response = api.get(URL, {param: value})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [param]
    assert isinstance(body[param], list)
    assert body[param]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start_date": "2026-01-15"}, {"usa", "france", "chile"}),  # 09:30 that day is on or after it
        ({"end_date": "2026-01-15"}, {"usa", "france", "usa2"}),  # the whole day, not only its midnight
        ({"start_date": "2026-01-15", "end_date": "2026-01-15"}, {"usa", "france"}),
        ({"start_date": "2026-01-18"}, set()),
        ({"end_date": "2026-01-12"}, set()),
        ({"start_date": "0001-01-01", "end_date": "9999-12-31"}, {"usa", "france", "chile", "usa2"}),
    ],
)
def test_original_start_and_end_date_filter_on_the_ingestion_day_inclusive(
    api: APIClient, rows: dict[str, Customer], params: dict[str, str], expected: set[str]
) -> None:
    assert _ids(api, params) == {rows[name].customer_id for name in expected}


@pytest.mark.parametrize(("start", "end"), [("2026-01-13", "2026-01-15"), ("2026-01-16", "2026-01-17")])
def test_original_date_names_give_the_same_rows_as_the_timestamp_filters(
    api: APIClient, rows: dict[str, Customer], start: str, end: str
) -> None:
    original = _ids(api, {"start_date": start, "end_date": end})
    assert original
    assert original == _ids(
        api, {"ingested_after": f"{start}T00:00:00Z", "ingested_before": f"{end}T23:59:59.999999Z"}
    )


EQUIVALENCE_CASES = [
    "",
    "country=usa",
    "country=usa&city=boston&company=acme%20corp",
    "subscription_date_after=2020-01-01&subscription_date_before=2022-06-30",
    "ingested_after=2026-01-15T10:30:00%2B01:00&ingested_before=2026-01-15T09:30:00",
    "start_date=2026-01-15&end_date=2026-01-17",
    "search=lyo",
    "country=&city=%20",
    "subscription_date_after=13/45/2021&ingested_before=yesterday&search=al",
    "end_date=9999-12-31",
]


@pytest.mark.parametrize("query", EQUIVALENCE_CASES)
def test_prebuilt_backend_filters_and_refuses_exactly_as_django_filter_does(
    rows: dict[str, Customer], query: str
) -> None:
    request = Request(APIRequestFactory().get(URL, QueryDict(query)))
    view = CustomerViewSet()

    def outcome(backend: Any) -> Any:
        try:
            filtered = backend.filter_queryset(request, customer_list(), view)
            return sorted(filtered.values_list("pk", flat=True))
        except ValidationError as exc:
            return exc.detail

    assert outcome(PrebuiltFilterBackend()) == outcome(DjangoFilterBackend())


def test_no_filterset_is_built_per_request(
    api: APIClient, rows: dict[str, Customer], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.get(URL, {"country": "usa"})  # the one FilterSet per class may be built here
    built: list[object] = []
    original = CustomerFilterSet.__init__

    def counting(self: CustomerFilterSet, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(CustomerFilterSet, "__init__", counting)
    for params in ({"country": "usa"}, {"search": "lyon"}, {}):
        assert api.get(URL, params).status_code == 200
    assert built == []
