"""Token lookups cached per process (customers/token_cache.py): no query per request, revocation at once."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from customers import token_cache
from customers.tests.conftest import GENEROUS_RATES
from customers.tests.test_throttling import _use_redis

URL = "/api/customers/"


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_cache, "_state", token_cache._State())


@pytest.fixture
def redis(settings: Any) -> Any:
    client = _use_redis(settings)
    client.set(token_cache.GENERATION_KEY, secrets.token_hex(8))
    return client


def _token_queries(api: APIClient, url: str = URL) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        status = api.get(url).status_code
    return status, sum("knox_authtoken" in q["sql"] for q in queries)


def _warm(api: APIClient) -> None:
    for _ in range(2):  # the first request sees the generation, the second one fills the cache
        assert api.get(URL).status_code == 200


def test_a_cached_token_lookup_costs_no_database_query(api: APIClient, redis: Any) -> None:
    _warm(api)
    assert _token_queries(api) == (200, 0)


def test_without_redis_every_request_reads_its_token(api: APIClient) -> None:
    assert api.get(URL).status_code == 200
    assert _token_queries(api) == (200, 1)


def test_with_the_cache_seconds_at_zero_every_request_reads_its_token(
    api: APIClient, redis: Any, settings: Any
) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 0
    _warm(api)
    assert _token_queries(api) == (200, 1)


def test_logout_revokes_a_cached_token_at_once(api: APIClient, redis: Any) -> None:
    _warm(api)
    assert api.post("/api/auth/logout/").status_code == 204
    assert api.get(URL).status_code == 401


def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(
    api: APIClient, token: str, redis: Any
) -> None:
    _warm(api)
    # Another worker deleted the token (its signal set a new generation): nothing told this process.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM knox_authtoken WHERE token_key = %s", [token[:15]])
    redis.set(token_cache.GENERATION_KEY, secrets.token_hex(8))
    assert api.get(URL).status_code == 401


def test_a_revoked_token_gets_401_before_429(api: APIClient, token: str, redis: Any, settings: Any) -> None:
    _warm(api)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**GENEROUS_RATES, "user": "1/day"},
    }
    AuthToken.objects.filter(token_key=token[:15]).delete()
    assert api.get(URL).status_code == 401


def test_a_change_around_the_signals_takes_effect_within_the_cache_seconds(
    api: APIClient, token: str, redis: Any, settings: Any
) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 0.3
    _warm(api)
    with connection.cursor() as cursor:  # no signal, no new generation
        cursor.execute("DELETE FROM knox_authtoken WHERE token_key = %s", [token[:15]])
    time.sleep(0.4)
    assert api.get(URL).status_code == 401


def test_a_deactivated_user_is_refused_at_once(api: APIClient, user: Any, redis: Any) -> None:
    _warm(api)
    user.is_active = False
    user.save()
    assert api.get(URL).status_code == 401


def test_a_role_taken_away_is_a_403_at_once(api: APIClient, user: Any, redis: Any) -> None:
    _warm(api)
    user.groups.clear()
    assert api.get(URL).status_code == 403


def test_a_permission_taken_from_the_role_is_a_403_at_once(api: APIClient, user: Any, redis: Any) -> None:
    _warm(api)
    for group in Group.objects.filter(user=user):
        group.permissions.clear()
    assert api.get(URL).status_code == 403


def test_a_wrong_secret_with_a_cached_key_is_refused(api: APIClient, token: str, redis: Any) -> None:
    _warm(api)
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Token {token[:15]}{'0' * (len(token) - 15)}")
    assert forged.get(URL).status_code == 401
    assert api.get(URL).status_code == 200


def test_a_cached_lookup_is_confirmed_in_the_database_when_the_throttle_did_not_run(
    api: APIClient, token: str, redis: Any, settings: Any
) -> None:
    _warm(api)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**GENEROUS_RATES, "user": None},
    }
    with connection.cursor() as cursor:  # no signal: only the database knows
        cursor.execute("DELETE FROM knox_authtoken WHERE token_key = %s", [token[:15]])
    assert api.get(URL).status_code == 401


def test_a_login_does_not_drop_the_cached_lookups(api: APIClient, user: Any, redis: Any) -> None:
    _warm(api)
    before = redis.get(token_cache.GENERATION_KEY)
    user.save(update_fields=["last_login"])
    assert redis.get(token_cache.GENERATION_KEY) == before
    assert _token_queries(api) == (200, 0)


def test_rows_read_before_a_new_generation_are_not_kept() -> None:
    token_cache.generation_observe("a")
    label = token_cache.generation_before_read()
    token_cache.generation_observe("b")  # credentials changed while the rows were being read
    token_cache.rows_put("key", [("row",)], label)
    assert token_cache._state.entries == {}
