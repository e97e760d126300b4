"""``/api/customers/`` and ``/api/customers/{customer_id}/``: shapes and the README example."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from customers.models import Customer
from customers.serializers import CUSTOMER_FIELDS, CustomerSerializer, customer_rows_json
from customers.tests.factories import customer_build, customers_create

EXAMPLE_KEYS = {
    "index",
    "customer_id",
    "first_name",
    "last_name",
    "company",
    "city",
    "country",
    "phone_1",
    "phone_2",
    "email",
    "subscription_date",
    "website",
    "source_file",
    "ingested_at",
}


def test_list_body_has_next_previous_results_and_each_result_exactly_the_documented_keys(
    api: APIClient,
) -> None:
    customers_create(3)
    body = api.get("/api/customers/").json()
    assert set(body) == {"next", "previous", "results"}
    assert len(body["results"]) == 3
    assert all(set(row) == EXAMPLE_KEYS for row in body["results"])
    assert set(CUSTOMER_FIELDS) == EXAMPLE_KEYS


def test_documented_example_query_returns_the_matching_customers_newest_subscription_first(
    api: APIClient,
) -> None:
    customers_create(20, first_name="Bob", country="USA")
    older = customer_build(first_name="Alice", country="USA", subscription_date=dt.date(2020, 5, 1))
    newer = customer_build(first_name="Malice", country="usa", subscription_date=dt.date(2022, 5, 1))
    elsewhere = customer_build(first_name="Alice", country="France")
    for row in (older, newer, elsewhere):
        row.save()
    response = api.get("/api/customers/?search=alice&country=USA&ordering=-subscription_date")
    assert response.status_code == 200
    assert [r["customer_id"] for r in response.json()["results"]] == [newer.customer_id, older.customer_id]


def test_dates_are_iso_and_timestamps_utc(api: APIClient) -> None:
    row = customer_build(
        subscription_date=dt.date(2021, 3, 4),
        ingested_at=dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        phone_2=None,
    )
    row.save()
    result = api.get(f"/api/customers/{row.customer_id}/").json()
    assert result["subscription_date"] == "2021-03-04"
    assert result["ingested_at"] == "2026-01-02T01:04:05.678901Z"
    assert result["phone_2"] is None


def test_detail_returns_the_customer(api: APIClient) -> None:
    row = customer_build(customer_id="DD37Cf93aecA6Dc", first_name="Sheryl")
    row.save()
    response = api.get("/api/customers/DD37Cf93aecA6Dc/")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Sheryl"
    assert set(response.json()) == EXAMPLE_KEYS


def test_detail_of_an_absent_customer_is_a_json_404(api: APIClient) -> None:
    response = api.get("/api/customers/NOPE/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize("path", ["/api/customers/", "/api/customers/X/"])
def test_writes_are_not_allowed(api: APIClient, path: str) -> None:
    assert api.post(path, {}, format="json").status_code == 405


class _PlainCustomerSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS


@pytest.mark.parametrize("offset_hours", [0, 5, -11])
def test_fast_rendering_equals_drf_field_rendering(db: None, offset_hours: int) -> None:
    tz = dt.timezone(dt.timedelta(hours=offset_hours))
    rows = [
        customer_build(
            phone_2=None, website=None, ingested_at=dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=tz)
        ),
        customer_build(
            phone_2="+1 555", website="https://x.example", ingested_at=dt.datetime(2026, 3, 1, tzinfo=tz)
        ),
    ]
    for row in rows:
        row.save()
        row.refresh_from_db()
    expected = _PlainCustomerSerializer(rows, many=True).data
    assert CustomerSerializer(rows, many=True).data == expected
    as_dicts = Customer.objects.order_by("pk").values("pk", *CUSTOMER_FIELDS)  # what a list page reads
    assert CustomerSerializer(as_dicts, many=True).data == expected
    assert customer_rows_json(list(as_dicts)) == expected  # what a list page renders
    assert customer_rows_json(rows) == expected


def test_a_listed_customer_reads_exactly_as_its_detail(api: APIClient) -> None:
    customers_create(5)
    for row in api.get("/api/customers/").json()["results"]:
        assert api.get(f"/api/customers/{row['customer_id']}/").json() == row
