"""Rate limits: 429 with Retry-After, counters shared by every server process."""

from __future__ import annotations

import contextlib
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from customers import throttles
from customers.auth import ApiTokenAuthentication
from customers.models import ThrottleCounter
from customers.services import api_token_create, user_roles_grant
from customers.tests.conftest import PASSWORD, throttle_rates
from customers.tests.servers import gunicorn
from customers.throttles import ApiUserThrottle, counter_incr, purge_due

URL = "/api/customers/"
REDIS_URL = "redis://127.0.0.1:6379/13"


def test_user_over_its_rate_gets_429_with_retry_after(api: APIClient, settings: Any) -> None:
    cache.clear()
    throttle_rates(settings, user="3/day")
    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(URL)
    assert response.status_code == 429
    # Windows are fixed (per day here, so a test cannot straddle two): retry when it ends.
    assert 0 < int(response["Retry-After"]) <= 24 * 3600
    assert "detail" in response.json()


def test_users_are_counted_separately(api: APIClient, settings: Any, django_user_model: Any) -> None:
    cache.clear()
    throttle_rates(settings, user="2/day")
    bob = django_user_model.objects.create_user("bob")
    user_roles_grant(user=bob, roles=["customers"])
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=bob)}")
    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 429]
    assert other.get(URL).status_code == 200


def test_anonymous_clients_get_the_anon_rate(anon: APIClient, settings: Any) -> None:
    throttle_rates(settings, anon="2/day")
    assert [anon.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize("authorization", [None, "Token " + "0" * 64, "Bearer nonsense"])
def test_refused_requests_spend_the_anonymous_budget_then_get_429(
    anon: APIClient, settings: Any, authorization: str | None
) -> None:
    throttle_rates(settings, anon="2/day")
    if authorization:
        anon.credentials(HTTP_AUTHORIZATION=authorization)
    assert [anon.get(URL).status_code for _ in range(3)] == [401, 401, 429]
    response = anon.get("/api/ingestion-runs/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 24 * 3600
    assert "detail" in response.json()


def test_a_valid_token_is_not_charged_for_other_clients_refusals(
    anon: APIClient, api: APIClient, settings: Any
) -> None:
    throttle_rates(settings, anon="1/day")
    assert [anon.get(URL).status_code for _ in range(2)] == [401, 429]
    assert api.get(URL).status_code == 200


def test_token_endpoint_has_its_own_stricter_rate(user: Any, anon: APIClient, settings: Any) -> None:
    throttle_rates(settings, token_obtain="2/day")
    body = {"username": "alice", "password": "guess"}
    codes = [anon.post("/api/auth/token/", body, format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    # Still locked out with the right password: guessing cannot continue.
    right = {"username": "alice", "password": PASSWORD}
    assert anon.post("/api/auth/token/", right, format="json").status_code == 429


def test_forwarded_for_written_by_the_client_buys_no_extra_attempts(
    user: Any, anon: APIClient, settings: Any
) -> None:
    throttle_rates(settings, token_obtain="2/day")
    body = {"username": "alice", "password": "guess"}
    codes = [
        anon.post("/api/auth/token/", body, format="json", HTTP_X_FORWARDED_FOR=f"10.1.2.{n}").status_code
        for n in range(3)
    ]
    assert codes == [400, 400, 429]


def test_behind_a_declared_proxy_each_forwarded_client_has_its_own_budget(
    user: Any, anon: APIClient, settings: Any
) -> None:
    settings.NUM_PROXIES = 1
    throttle_rates(settings, token_obtain="1/day")
    body = {"username": "alice", "password": "guess"}

    def attempt(client: str) -> int:
        forwarded = f"6.6.6.6, {client}"  # the first entry is the client's own invention
        return anon.post("/api/auth/token/", body, format="json", HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert [attempt("198.51.100.1"), attempt("198.51.100.1"), attempt("198.51.100.2")] == [400, 429, 400]


def _authenticated(token: str) -> Request:
    request = Request(
        APIRequestFactory().get(URL, HTTP_AUTHORIZATION=f"Token {token}"),
        authenticators=[ApiTokenAuthentication()],
    )
    request.user  # noqa: B018 (authenticate before counting: the token lookup is not the throttle's)
    return request


def _throttle_check(token: str) -> None:
    assert ApiUserThrottle().allow_request(_authenticated(token), APIView())


def test_a_throttle_check_costs_one_database_statement_without_redis(token: str) -> None:
    _throttle_check(token)  # connection set-up
    request = _authenticated(token)
    with CaptureQueriesContext(connection) as queries:
        assert ApiUserThrottle().allow_request(request, APIView())
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "ON CONFLICT" in queries[0]["sql"]


def test_without_redis_a_purging_request_deletes_only_counters_a_day_past_their_window(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    ThrottleCounter.objects.bulk_create(
        [
            ThrottleCounter(key="old", window=1, count=5, expires_at=now - timedelta(days=2)),
            ThrottleCounter(key="recent", window=2, count=5, expires_at=now - timedelta(hours=2)),
        ]
    )
    _throttle_check(token)
    assert set(ThrottleCounter.objects.values_list("key", flat=True)) >= {"old", "recent"}

    monkeypatch.setattr(throttles, "purge_due", lambda: True)
    request = _authenticated(token)
    with CaptureQueriesContext(connection) as queries:
        assert ApiUserThrottle().allow_request(request, APIView())

    assert [q["sql"].split()[0] for q in queries] == ["INSERT", "DELETE"]
    keys = set(ThrottleCounter.objects.values_list("key", flat=True))
    assert "old" not in keys
    assert "recent" in keys
    assert len(keys) == 2  # and the request's own counter


def test_about_one_request_in_purge_one_in_purges() -> None:
    # purge_due as imported, not the autouse fixture's stand-in (customers/tests/conftest.py).
    draws = [purge_due() for _ in range(20 * throttles.PURGE_ONE_IN)]
    assert 2 <= sum(draws) <= 50  # 20 expected; outside this range about 5 times in 10^8 runs


def _use_redis(settings: Any) -> Any:
    client = _redis_or_skip()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    return client


def test_a_throttle_check_costs_one_redis_round_trip(token: str, settings: Any) -> None:
    _use_redis(settings)
    import redis.connection

    _throttle_check(token)  # connects
    sent: list[Any] = []
    original = redis.connection.Connection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        original(self, command, check_health)

    redis.connection.Connection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        _throttle_check(token)
    finally:
        redis.connection.Connection.send_packed_command = original  # type: ignore[method-assign]
    assert len(sent) == 1


def test_a_redis_counter_counts_and_expires_with_its_window(settings: Any) -> None:
    client = _use_redis(settings)
    key = f"test_{secrets.token_hex(4)}"
    expires_at = time.time() + 120
    assert [counter_incr(key=key, window=7, expires_at=expires_at) for _ in range(3)] == [1, 2, 3]
    assert counter_incr(key=key, window=8, expires_at=expires_at + 120) == 1  # a new window starts at 1
    assert 110 <= client.ttl(f"throttle:{key}:7") <= 121


def test_a_redis_server_that_forgot_the_script_gets_it_again(settings: Any) -> None:
    client = _use_redis(settings)
    key = f"test_{secrets.token_hex(4)}"
    assert counter_incr(key=key, window=1, expires_at=time.time() + 60) == 1
    client.script_flush()
    assert counter_incr(key=key, window=1, expires_at=time.time() + 60) == 2


def _alternate(urls: list[str], token: str, count: int) -> list[int]:
    headers = {"Authorization": f"Token {token}"}
    return [
        requests.get(f"{urls[n % len(urls)]}{URL}", headers=headers, timeout=30).status_code
        for n in range(count)
    ]


def _two_servers_share_the_count(env: dict[str, str], token: str) -> None:
    env = {"API_THROTTLE_USER": "4/day", **env}
    with gunicorn(env=env) as first, gunicorn(env=env) as second:
        codes = _alternate([first, second], token, 6)
    # Per-process counters would allow 4 on each server, i.e. all 6.
    assert codes == [200, 200, 200, 200, 429, 429]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_throttle_count_is_shared_by_two_server_processes_through_the_database_cache(user: Any) -> None:
    cache.clear()
    _two_servers_share_the_count({"REDIS_URL": ""}, api_token_create(user=user))


def _redis_or_skip() -> Any:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    return client


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_throttle_count_is_shared_by_two_server_processes_through_redis(user: Any) -> None:
    client = _redis_or_skip()
    with contextlib.suppress(Exception):
        keys = client.keys("*throttle_*")
        if keys:
            client.delete(*keys)
    _two_servers_share_the_count({"REDIS_URL": REDIS_URL}, api_token_create(user=user))


def _exactly_the_rate_gets_through(env: dict[str, str], token: str) -> None:
    env = {"API_THROTTLE_USER": "20/day", **env}
    with gunicorn(env=env, workers=2) as base, ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: _alternate([base], token, 1)[0], range(40)))
    # Counted atomically, so no update is lost to a concurrent one: exactly the rate gets through.
    assert codes.count(200) == 20
    assert codes.count(429) == 20


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_to_two_workers_are_each_counted_once_with_redis(user: Any) -> None:
    client = _redis_or_skip()
    with contextlib.suppress(Exception):
        keys = client.keys("*throttle_*")
        if keys:
            client.delete(*keys)
    _exactly_the_rate_gets_through({"REDIS_URL": REDIS_URL}, api_token_create(user=user))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_to_two_workers_are_each_counted_once_without_redis(user: Any) -> None:
    _exactly_the_rate_gets_through({"REDIS_URL": ""}, api_token_create(user=user))
