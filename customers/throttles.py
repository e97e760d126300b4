"""Rate limits, counted in Django's shared cache so every server process sees one count.

Counters live in ``CACHES["default"]``: Redis with ``REDIS_URL`` (atomic
``INCR``), else the database cache table; never process memory.

DRF's stock throttles keep a list of every request's timestamp in one cache
value and write it back (read-modify-write): under concurrency two workers
overwrite each other's updates, and each request re-pickles up to the whole
rate's worth of timestamps. These count per fixed window with ``cache.incr``
instead: O(1) per request and exact on Redis. A window allows at most the
rate; a client can spend one window's budget at its end and the next one's at
the start of the next window.

Rates are read per request from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``
(from ``API_THROTTLE_*``); DRF's classes freeze them at import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through DEFAULT_THROTTLE_CLASSES
    from rest_framework.request import Request
    from rest_framework.views import APIView


class WindowCounterThrottle(SimpleRateThrottle):
    """``num_requests`` per ``duration``-second window, counted with ``cache.incr``."""

    num_requests: int | None  # set by SimpleRateThrottle.__init__ from the rate
    duration: int | None
    window_end: float = 0.0

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        self.key = f"{key}:{window}"
        return self._count() <= self.num_requests

    def _count(self) -> int:
        assert self.duration is not None
        try:
            return int(self.cache.incr(self.key))
        except ValueError:  # first request of the window
            if self.cache.add(self.key, 1, timeout=self.duration + 1):
                return 1
            return int(self.cache.incr(self.key))  # another process created it meanwhile

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
