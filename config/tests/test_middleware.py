"""The middleware of config/middleware.py: what every /api/ answer carries."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from customers.services import api_token_create, user_roles_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader() -> APIClient:
    user = get_user_model().objects.create_user(username="reader", password="a long password")
    user_roles_grant(user=user, roles=["customers"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


@pytest.mark.parametrize("path", ["/api/customers/", "/api/customers/nobody/", "/api/ingestion-runs/"])
def test_an_api_answer_is_private_to_its_caller_and_revalidated(reader: APIClient, path: str) -> None:
    response = reader.get(path)
    assert response["Cache-Control"] == "private, no-cache"
    assert "Authorization" in response["Vary"]


def test_a_304_carries_the_same_cache_headers(reader: APIClient) -> None:
    etag = reader.get("/api/customers/")["ETag"]
    response = reader.get("/api/customers/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["Cache-Control"] == "private, no-cache"


def test_pages_outside_the_api_are_left_as_they_were(client: Client) -> None:
    response = client.get("/healthz")
    assert "Authorization" not in response.get("Vary", "")
    assert "private" not in response.get("Cache-Control", "")
