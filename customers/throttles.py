"""Rate limits: who the client is, and one atomic counter per client and window.

**Client identity** (:func:`client_ip`). ``X-Forwarded-For`` is believed only
behind a declared proxy: with ``NUM_PROXIES=N`` the client is the address the
N-th proxy from us saw (the N-th entry from the right); with
``TRUSTED_PROXIES`` (addresses or networks) the entries are walked from the
right while they are trusted proxies. Without either (the default) the header
is ignored and the client is the socket's peer: a header an attacker writes
cannot buy a fresh budget per request. The admin login's lockout (django-axes)
uses the same function.

**Counters** (:func:`counter_incr`): per fixed window, one round trip per
request, atomic under concurrency:

- Redis (``REDIS_URL``): ``INCR`` and ``EXPIREAT`` in one Lua script (atomic,
  one command);
- otherwise PostgreSQL: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
  on ``customers_throttlecounter`` (a row per client and scope, reset when the
  window changes; old rows purged now and then).

DRF's stock throttles keep a list of every request's timestamp in one cache
value and write it back (read-modify-write): under concurrency two workers
overwrite each other's updates. A window allows at most the rate; a client can
spend one window's budget at its end and the next one's at the start of the
next window. Rates are read per request from
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (from ``API_THROTTLE_*``).
"""

from __future__ import annotations

import ipaddress
import math
import random
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from customers import token_cache

if TYPE_CHECKING:  # rest_framework.views imports this module through DEFAULT_THROTTLE_CLASSES
    from rest_framework.request import Request
    from rest_framework.views import APIView

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PURGE_ONE_IN = 1000
"""About one request in this many also deletes the counters of windows long over (database only)."""
_UPSERT = """
INSERT INTO customers_throttlecounter (key, "window", count, expires_at)
VALUES (%s, %s, 1, to_timestamp(%s))
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN customers_throttlecounter."window" = EXCLUDED."window"
                 THEN customers_throttlecounter.count + 1 ELSE 1 END,
    "window" = EXCLUDED."window",
    expires_at = EXCLUDED.expires_at
RETURNING count
"""
_PURGE = "DELETE FROM customers_throttlecounter WHERE expires_at < now() - interval '1 day'"


@lru_cache(maxsize=1024)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(text: str, proxies: tuple[IpNetwork, ...]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in proxies)


def client_ip(request: Any) -> str:
    """The client's address, believing ``X-Forwarded-For`` only as far as declared proxies reach."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    forwarded = [a.strip() for a in str(request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")]
    forwarded = [a for a in forwarded if a]
    proxies: tuple[IpNetwork, ...] = settings.TRUSTED_PROXIES
    if proxies:
        hops = [*forwarded, remote]
        client = remote
        while len(hops) > 1 and _trusted(hops[-1], proxies):
            hops.pop()
            if _address(hops[-1]) is None:  # garbage written by the client: the proxy saw its peer
                break
            client = hops[-1]
        return client
    count: int = settings.NUM_PROXIES
    if count == 0 or not forwarded:
        return remote
    candidate = forwarded[-min(count, len(forwarded))]
    return candidate if _address(candidate) is not None else remote


# INCR and EXPIREAT in one script: Redis runs a script atomically, with one request and one
# reply (a MULTI/EXEC pipeline sends four commands and parses four replies). It also returns
# the credentials generation (customers.token_cache): a cached token lookup is confirmed by
# this same round trip.
_INCR_EXPIREAT = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return {count, redis.call('GET', KEYS[2]) or '0'}
"""


@lru_cache(maxsize=8)
def _incr_script(redis: Any) -> Any:
    """The script bound to ``redis`` (sent by its hash, loaded again if the server forgot it)."""
    return redis.register_script(_INCR_EXPIREAT)


def counter_incr(*, key: str, window: int, expires_at: float) -> int:
    """The count of ``key`` in ``window`` after adding this request: one atomic round trip."""
    return counter_incr_with_generation(key=key, window=window, expires_at=expires_at)[0]


def counter_incr_with_generation(*, key: str, window: int, expires_at: float) -> tuple[int, str | None]:
    """:func:`counter_incr`, and the credentials generation when the counter is in Redis (else None)."""
    redis = token_cache.redis_connection()
    if redis is not None:
        keys = [f"throttle:{key}:{window}", token_cache.GENERATION_KEY]
        count, generation = _incr_script(redis)(keys=keys, args=[math.ceil(expires_at)])
        return int(count), generation.decode() if isinstance(generation, bytes) else str(generation)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, window, expires_at])
        (count,) = cursor.fetchone()
        if purge_due():
            cursor.execute(_PURGE)
    return int(count), None


def purge_due() -> bool:
    """Whether this request also purges the counters of windows long over: about one in
    :data:`PURGE_ONE_IN` (a test that counts a request's statements turns it off)."""
    return random.randrange(PURGE_ONE_IN) == 0  # noqa: S311 (housekeeping, not security)


class WindowCounterThrottle(SimpleRateThrottle):
    """``num_requests`` per ``duration``-second window, counted by :func:`counter_incr`."""

    num_requests: int | None  # set by SimpleRateThrottle.__init__ from the rate
    duration: int | None
    window_end: float = 0.0

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        count, generation = counter_incr_with_generation(
            key=key, window=window, expires_at=self.window_end + 1
        )
        if generation is not None:
            token_cache.generation_observe(generation)
            setattr(request, token_cache.REQUEST_GENERATION, generation)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return float(max(1, math.ceil(self.window_end - self.now)))


class ApiUserThrottle(WindowCounterThrottle, UserRateThrottle):
    """Per authenticated user (anonymous clients by address): ``API_THROTTLE_USER``."""


class ApiAnonThrottle(WindowCounterThrottle, AnonRateThrottle):
    """Per client address, anonymous requests only: ``API_THROTTLE_ANON``."""


class TokenObtainThrottle(WindowCounterThrottle, AnonRateThrottle):
    """Per client address on ``POST /api/auth/token/`` (password guessing): ``API_THROTTLE_TOKEN``."""

    scope = "token_obtain"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
