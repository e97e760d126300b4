"""Each request that once answered a 500 (issue #14), now a 4xx naming what is wrong."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DataError
from rest_framework.test import APIClient

from customers.exceptions import (
    BAD_VALUE,
    NUL_IN_PATH,
    NUL_IN_VALUE,
    TOO_MANY_PARAMETERS,
    api_exception_handler,
)
from customers.pagination import INVALID_CURSOR
from customers.services import api_token_create
from ingestion.api import UNKNOWN_RULE
from ingestion.models import IngestionRun, QuarantinedRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> APIClient:
    user = get_user_model().objects.create_superuser("root", "root@example.org", "a long password")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


@pytest.fixture
def run() -> IngestionRun:
    run = IngestionRun.objects.create(source="local", filename="a.csv", status="succeeded")
    QuarantinedRecord.objects.create(run=run, line_number=2, rule_codes=["email.pattern"], messages=["m"])
    return run


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("path", ["/api/customers/%00/", "/api/ingestion-runs/%00/"])
def test_a_nul_byte_in_the_path_is_a_404(root: APIClient, path: str) -> None:
    response = root.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": NUL_IN_PATH}


def test_a_nul_byte_in_a_parameter_is_a_400_naming_it(root: APIClient) -> None:
    response = root.get("/api/customers/?city=a%00b&country=Chile")
    assert response.status_code == 400
    assert response.json() == {"city": [NUL_IN_VALUE]}


@pytest.mark.parametrize("cursor", [_b64("p=abc"), _b64("p=99999999999999999999999"), _b64("o=1&r=x"), "%00"])
def test_a_forged_cursor_on_the_runs_list_is_a_400(root: APIClient, run: IngestionRun, cursor: str) -> None:
    response = root.get(f"/api/ingestion-runs/?cursor={cursor}")
    assert response.status_code == 400
    assert response.json() in ({"cursor": [INVALID_CURSOR]}, {"cursor": [NUL_IN_VALUE]})


@pytest.mark.parametrize("cursor", [_b64("p=abc"), _b64("p=-1.5"), _b64("p=1&r=1&o=-5")])
def test_a_forged_cursor_on_the_quarantine_is_a_400(root: APIClient, run: IngestionRun, cursor: str) -> None:
    response = root.get(f"/api/ingestion-runs/{run.pk}/quarantine/?cursor={cursor}")
    assert response.status_code == 400
    assert response.json() == {"cursor": [INVALID_CURSOR]}


def test_a_cursor_this_api_made_still_works(root: APIClient, run: IngestionRun) -> None:
    IngestionRun.objects.create(source="local", filename="b.csv")
    first = root.get("/api/ingestion-runs/", {"page_size": 1}).json()
    assert root.get(first["next"]).status_code == 200


@pytest.mark.parametrize("rule", ["%00", "email.pattern%27", "x" * 300])
def test_an_impossible_rule_code_is_a_400(root: APIClient, run: IngestionRun, rule: str) -> None:
    response = root.get(f"/api/ingestion-runs/{run.pk}/quarantine/?rule={rule}")
    assert response.status_code == 400
    assert response.json() in ({"rule": [UNKNOWN_RULE]}, {"rule": [NUL_IN_VALUE]})


def test_a_run_id_beyond_bigint_is_a_404(root: APIClient) -> None:
    assert root.get("/api/ingestion-runs/99999999999999999999999/").status_code == 404
    assert root.get("/api/ingestion-runs/99999999999999999999999/quarantine/").status_code == 404


def test_a_value_the_database_refuses_is_a_400_not_a_500() -> None:
    response = api_exception_handler(DataError("value out of range for type bigint"), {})
    assert response is not None
    assert (response.status_code, response.data) == (400, {"detail": BAD_VALUE})


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/customers/", "/api/schema/", "/admin/login/"])
def test_too_many_parameters_is_a_400_in_json_even_with_debug_on(
    root: APIClient, settings: Any, path: str, debug: bool
) -> None:
    settings.DEBUG = debug
    query = "&".join(f"a{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = root.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json() == {
        "detail": TOO_MANY_PARAMETERS.format(limit=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
    }
