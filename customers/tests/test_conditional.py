"""Conditional requests on customer pages and details: ETag, and 304 on If-None-Match."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from customers.tests.factories import customer_build, customers_create

URL = "/api/customers/"


@pytest.fixture
def customer(db: None) -> Customer:
    customers_create(3)
    row = customer_build()
    row.save()
    return row


@pytest.mark.parametrize("path", [URL, f"{URL}?country=Chile&page_size=2", "detail"])
def test_a_repeated_get_with_the_etag_is_a_304_without_a_body(
    api: APIClient, customer: Customer, path: str
) -> None:
    path = f"{URL}{customer.customer_id}/" if path == "detail" else path
    first = api.get(path)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    again = api.get(path, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert api.get(path, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304  # weak comparison


def test_a_changed_page_has_a_new_etag_and_is_sent_again(api: APIClient, customer: Customer) -> None:
    etag = api.get(URL)["ETag"]
    Customer.objects.filter(pk=customer.pk).update(city="Elsewhere")
    response = api.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert any(row["city"] == "Elsewhere" for row in response.json()["results"])


def test_pages_differ_in_etag(api: APIClient, customer: Customer) -> None:
    assert api.get(URL)["ETag"] != api.get(f"{URL}?page_size=2")["ETag"]


def test_an_error_is_never_a_304(api: APIClient, customer: Customer) -> None:
    bad = api.get(f"{URL}?page_size=0")
    assert bad.status_code == 400
    assert api.get(f"{URL}?page_size=0", HTTP_IF_NONE_MATCH=bad.get("ETag", '"x"')).status_code == 400
    assert api.get(f"{URL}NOPE/", HTTP_IF_NONE_MATCH="*").status_code == 404


def test_an_etag_does_not_let_an_anonymous_client_in(
    anon: APIClient, api: APIClient, customer: Customer
) -> None:
    etag = api.get(URL)["ETag"]
    assert anon.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 401
