"""OpenAPI: the served schema is valid and documents every parameter."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from customers.filters import ORIGINAL_NAME
from customers.views import BAD_SCHEMA_VERSION, ORDERING_FIELDS

LIST_PARAMETERS = {
    "country",
    "city",
    "company",
    "customer_id",
    "source_file",
    "subscription_date_after",
    "subscription_date_before",
    "ingested_after",
    "ingested_before",
    "start_date",
    "end_date",
    "search",
    "ordering",
    "page_size",
    "cursor",
}


@pytest.fixture
def schema(anon: APIClient) -> dict[str, Any]:
    response = anon.get("/api/schema/?format=json")
    assert response.status_code == 200
    return dict(response.json())


def test_served_schema_is_valid_openapi_3(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_schema_generation_has_no_warnings_or_errors(tmp_path: Path, db: None) -> None:
    # --fail-on-warn: any parameter or response drf-spectacular had to guess fails the build.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"), stderr=StringIO()
    )
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3")


def test_customer_list_documents_every_query_parameter(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/customers/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == LIST_PARAMETERS
    assert all(p.get("description") for p in parameters.values())
    ordering = parameters["ordering"]["schema"]
    assert set(ordering["enum"]) == {name for f in ORDERING_FIELDS for name in (f, f"-{f}")}
    assert ordering["default"] == "-ingested_at"
    assert set(operation["responses"]) == {"200", "400", "401", "403", "429"}
    page = schema["components"]["schemas"][
        operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    ]
    assert set(page["properties"]) == {"next", "previous", "results"}


def test_both_spellings_of_the_ingestion_dates_are_documented_the_original_marked(
    schema: dict[str, Any],
) -> None:
    operation = schema["paths"]["/api/customers/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    for original, ours in (("start_date", "ingested_after"), ("end_date", "ingested_before")):
        assert parameters[original]["description"].startswith(ORIGINAL_NAME)
        assert parameters[original]["schema"] == {"type": "string", "format": "date"}
        assert not parameters[ours]["description"].startswith(ORIGINAL_NAME)
        assert f"`{ours}=" in parameters[original]["description"]


def test_every_endpoint_is_documented(schema: dict[str, Any]) -> None:
    assert set(schema["paths"]) == {
        "/api/customers/",
        "/api/customers/{customer_id}/",
        "/api/auth/token/",
        "/api/auth/logout/",
        "/api/auth/logoutall/",
        "/api/ingestion-runs/",  # ingestion.api (issue #4)
        "/api/ingestion-runs/{id}/",
        "/api/ingestion-runs/{id}/quarantine/",
        "/api/ingestions/",  # ingestion.upload_api (issue #15)
    }
    assert "knoxApiToken" in schema["components"]["securitySchemes"]


def test_docs_page_is_served(anon: APIClient) -> None:
    response = anon.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_docs_page_loads_swagger_ui_from_our_static_files_not_a_cdn(anon: APIClient) -> None:
    html = anon.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # Every script and stylesheet comes from our own origin (a random token in the page may
    # contain "cdn", so the check is on the addresses, not on the text).
    addresses = re.findall(r'(?:src|href)=["\']([^"\']+)', html)
    assert addresses
    assert all(a.startswith("/") and not a.startswith("//") for a in addresses), addresses
    assert "https://" not in html


@pytest.mark.parametrize("version", ["\n", "a\rb", "x" * 33, 'a"b', "é"])
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_a_version_that_cannot_name_a_file_is_a_400_in_json(anon: APIClient, path: str, version: str) -> None:
    response = anon.get(path, {"version": version})
    assert response.status_code == 400
    assert response.json() == {"version": [BAD_SCHEMA_VERSION]}


def test_a_plain_version_names_the_schemas_download(anon: APIClient) -> None:
    response = anon.get("/api/schema/", {"version": "v1.2"})
    assert response.status_code == 200
    assert "(v1.2)" in response["Content-Disposition"]


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_options_on_the_schema_and_the_docs_is_a_405_not_a_500(anon: APIClient, path: str) -> None:
    response = anon.options(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("/api/ingestion-runs/", {"200", "400", "401", "403", "429"}),
        ("/api/ingestion-runs/{id}/", {"200", "400", "401", "403", "404", "429"}),
        ("/api/ingestion-runs/{id}/quarantine/", {"200", "400", "401", "403", "404", "429"}),
        ("/api/customers/", {"200", "400", "401", "403", "429"}),
    ],
)
def test_every_read_endpoint_documents_its_error_answers(
    schema: dict[str, Any], path: str, codes: set[str]
) -> None:
    assert set(schema["paths"][path]["get"]["responses"]) == codes


@pytest.mark.parametrize(
    ("request_kwargs", "status_code"),
    [
        ({"path": "/api/schema/", "data": {"format": "abc"}}, 404),
        ({"path": "/api/docs/", "data": {"format": "abc"}}, 404),
        ({"path": "/api/docs/", "HTTP_AUTHORIZATION": "Token " + "0" * 64}, 401),
        ({"path": "/api/schema/", "HTTP_AUTHORIZATION": "Token " + "0" * 64}, 401),
    ],
)
def test_the_schema_and_the_docs_answer_their_errors_in_json(
    anon: APIClient, request_kwargs: dict[str, Any], status_code: int
) -> None:
    response = anon.get(**request_kwargs)
    assert response.status_code == status_code
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_the_schema_answers_429_in_json(anon: APIClient, settings: Any) -> None:
    from customers.tests.conftest import throttle_rates

    throttle_rates(settings, anon="1/day")
    assert anon.get("/api/schema/").status_code == 200
    response = anon.get("/api/schema/")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
