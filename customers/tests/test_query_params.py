"""No silently ignored query parameters: every API endpoint answers an unknown one with a 400."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from customers.models import Customer
from customers.query_params import (
    EMPTY_PARAMETER,
    REPEATED_PARAMETER,
    UNKNOWN_PARAMETER,
    StrictQueryParams,
    view_query_params,
)
from customers.services import api_token_create, user_roles_grant
from customers.tests.factories import customer_build, customers_create
from ingestion.models import IngestionRun

URL = "/api/customers/"
LIST_ACCEPTED = (
    "country, city, company, customer_id, source_file, subscription_date_after, subscription_date_before, "
    "ingested_after, ingested_before, start_date, end_date, search, ordering, cursor, page_size, format"
)


@pytest.fixture
def customer(db: None) -> Customer:
    row = customer_build()
    row.save()
    return row


@pytest.fixture
def run(db: None) -> IngestionRun:
    return IngestionRun.objects.create(source="local", filename="partner.csv", status="succeeded")


def test_a_misspelled_filter_is_a_400_naming_it_and_listing_the_accepted_ones(api: APIClient) -> None:
    customers_create(3)
    response = api.get(URL, {"countyr": "Chile"})
    assert response.status_code == 400
    assert response.json() == {"countyr": [UNKNOWN_PARAMETER.format(accepted=LIST_ACCEPTED)]}


def test_each_unknown_parameter_is_named(api: APIClient) -> None:
    response = api.get(URL, {"country": "Chile", "sort": "name", "limit": "5"})
    assert response.status_code == 400
    assert set(response.json()) == {"sort", "limit"}


def test_a_detail_accepts_no_filter(api: APIClient, customer: Customer) -> None:
    response = api.get(f"{URL}{customer.customer_id}/", {"country": customer.country})
    assert response.status_code == 400
    assert response.json() == {"country": [UNKNOWN_PARAMETER.format(accepted="format")]}


def _endpoints(customer: Customer, run: IngestionRun) -> list[tuple[str, str]]:
    return [
        ("get", URL),
        ("get", f"{URL}{customer.customer_id}/"),
        ("post", "/api/auth/token/"),
        ("post", "/api/auth/logout/"),
        ("post", "/api/auth/logoutall/"),
        ("get", "/api/schema/"),
        ("get", "/api/docs/"),
        ("get", "/api/ingestion-runs/"),
        ("get", f"/api/ingestion-runs/{run.pk}/"),
        ("get", f"/api/ingestion-runs/{run.pk}/quarantine/"),
    ]


def test_every_endpoint_answers_an_unknown_parameter_with_a_400(
    api: APIClient, user: Any, customer: Customer, run: IngestionRun
) -> None:
    user_roles_grant(user=user, roles=["operators"])  # the runs endpoints answer 403 before any 400
    for method, path in _endpoints(customer, run):
        response = getattr(api, method)(f"{path}?bogus=1")
        assert response.status_code == 400, (method, path, response.status_code)
        assert list(response.json()) == ["bogus"], path
        assert response.json()["bogus"][0].startswith("Unknown parameter; this endpoint accepts: ")


def test_logout_with_an_unknown_parameter_keeps_the_token(api: APIClient) -> None:
    assert api.post("/api/auth/logout/?bogus=1").status_code == 400
    assert api.get(URL).status_code == 200


def test_every_api_view_refuses_unknown_parameters() -> None:
    def views(patterns: list[Any]) -> list[Any]:
        found = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                found.append(pattern.callback.cls)
        return found

    api_views = views(get_resolver().url_patterns)
    assert len(api_views) >= 8
    assert [view for view in api_views if not issubclass(view, StrictQueryParams)] == []


def test_accepted_parameters_are_exactly_the_documented_ones(anon: APIClient, db: None) -> None:
    schema = anon.get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        view: Any = resolve(path.replace("{customer_id}", "C1").replace("{id}", "1")).func
        for method, operation in operations.items():
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            action = getattr(view, "actions", {}).get(method)
            extra = view.initkwargs.get("extra_query_params", view.cls.extra_query_params)
            accepted = set(view_query_params(view.cls, action, tuple(extra)))
            assert accepted == documented | {"format"}, (path, method)


def test_an_anonymous_client_gets_its_401_before_the_parameter_check(anon: APIClient) -> None:
    assert anon.get(URL, {"bogus": "1"}).status_code == 401


def test_a_parameter_given_twice_is_a_400(api: APIClient) -> None:
    response = api.get(f"{URL}?country=Chile&country=France")
    assert response.status_code == 400
    assert response.json() == {"country": [REPEATED_PARAMETER.format(count=2)]}


def test_format_json_is_accepted(api: APIClient, customer: Customer) -> None:
    assert api.get(URL, {"format": "json"}).status_code == 200
    assert api.get(f"{URL}{customer.customer_id}/", {"format": "json"}).status_code == 200


def test_schema_accepts_its_format_and_language(anon: APIClient, db: None) -> None:
    assert anon.get("/api/schema/", {"format": "json", "lang": "en"}).status_code == 200
    assert anon.get("/api/docs/", {"lang": "en"}).status_code == 200


def test_ignored_parameters_setting_lets_a_cache_busting_parameter_through(
    api: APIClient, customer: Customer, settings: Any
) -> None:
    settings.API_IGNORED_QUERY_PARAMS = ["_"]
    response = api.get(URL, {"_": "1733220000000", "country": customer.country})
    assert response.status_code == 200
    assert [row["customer_id"] for row in response.json()["results"]] == [customer.customer_id]
    assert api.get(URL, {"__": "1"}).status_code == 400  # only the names listed


def test_a_star_in_the_ignored_parameters_turns_the_check_off(api: APIClient, settings: Any) -> None:
    settings.API_IGNORED_QUERY_PARAMS = ["*"]
    assert api.get(URL, {"anything": "1"}).status_code == 200
    assert api.get(f"{URL}?country=a&country=b").status_code == 400  # still no silent choice between two


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/customers/", "country"),
        ("/api/customers/", "page_size"),
        ("/api/customers/", "subscription_date_before"),
        ("/api/customers/", "cursor"),
        ("/api/ingestion-runs/", "dry_run"),
        ("/api/ingestion-runs/", "status"),
        ("/api/schema/", "version"),
    ],
)
def test_an_empty_value_is_a_400_naming_it_not_an_unfiltered_answer(user: Any, path: str, name: str) -> None:
    user_roles_grant(user=user, roles=["operators"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    response = client.get(path, {name: ""})
    assert response.status_code == 400
    assert response.json() == {name: [EMPTY_PARAMETER]}
