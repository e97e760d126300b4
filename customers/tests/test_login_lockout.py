"""Brute force on the logins: the admin's (django-axes) and the token endpoint's share one lockout."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from customers.serializers import LOCKED_OUT
from customers.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def admin_user() -> Any:
    return get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)


def _admin_login(client: Client, password: str, address: str = "203.0.113.7") -> int:
    response = client.post(ADMIN_LOGIN, {"username": "boss", "password": password}, REMOTE_ADDR=address)
    return response.status_code


def test_admin_login_locks_out_after_the_failure_limit_even_with_the_right_password(
    admin_user: Any, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    assert [_admin_login(client, f"guess-{n}") for n in range(4)] == [200] * 4  # the form again
    assert _admin_login(client, "guess-4") == 429
    assert _admin_login(client, PASSWORD) == 429
    assert "_auth_user_id" not in client.session


def test_another_address_is_not_locked_out(admin_user: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    assert [_admin_login(client, "nope") for _ in range(2)] == [200, 429]
    assert _admin_login(Client(), PASSWORD, address="198.51.100.9") == 302  # logged in


def test_forwarded_for_does_not_escape_the_lockout_without_a_declared_proxy(
    admin_user: Any, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    codes = [
        Client()
        .post(
            ADMIN_LOGIN,
            {"username": "boss", "password": "nope"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"10.9.8.{n}",
        )
        .status_code
        for n in range(3)
    ]
    assert codes == [200, 429, 429]


def test_axes_reset_lifts_the_lockout(admin_user: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    assert [_admin_login(client, "nope") for _ in range(2)] == [200, 429]
    call_command("axes_reset", stdout=StringIO())
    assert _admin_login(client, PASSWORD) == 302


def test_token_endpoint_answers_429_while_locked_out(user: Any, settings: Any, anon: APIClient) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    wrong = {"username": "alice", "password": "guess"}
    codes = [anon.post("/api/auth/token/", wrong, format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    response = anon.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["detail"].startswith(LOCKED_OUT.format(minutes=60))
    assert int(response["Retry-After"]) == 3600
