from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from customers import throttles
from customers.services import api_token_create, user_roles_grant

PASSWORD = "correct horse battery staple"
GENEROUS_RATES = {"user": "100000/hour", "anon": "100000/hour", "token_obtain": "100000/hour"}


def throttle_rates(settings: Any, **rates: str) -> None:
    """Replace the throttle rates for one test (DRF reloads its settings on change)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**GENEROUS_RATES, **rates},
    }


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Walking every page under every ordering is far beyond a real client's
    # hourly budget; throttling has its own tests.
    throttle_rates(settings)
    # PBKDF2 at production strength costs ~1 s per user on this machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The database throttle's purge of old counters, one request in a thousand at random, would be
    # one statement more in the tests that count a request's statements; it has its own test.
    monkeypatch.setattr(throttles, "purge_due", lambda: False)


@pytest.fixture
def user(db: None) -> Any:
    """A user with the ``customers`` role (``customers.view_customer``)."""
    alice = get_user_model().objects.create_user(username="alice", password=PASSWORD)
    user_roles_grant(user=alice, roles=["customers"])
    return alice


@pytest.fixture
def outsider(db: None) -> APIClient:
    """A client whose valid token belongs to a user without any role or staff flag."""
    nobody = get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=nobody)}")
    return client


@pytest.fixture
def token(user: Any) -> str:
    return api_token_create(user=user)


@pytest.fixture
def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def anon(db: None) -> APIClient:
    cache.clear()
    return APIClient()
