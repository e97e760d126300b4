"""Rate limits. Counters live in Django's shared cache (Redis or the database
table), never in process memory, so every gunicorn worker sees the same count.

Rates are read per request from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``
(DRF's classes freeze them at import), from ``API_THROTTLE_*`` in the environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through DEFAULT_THROTTLE_CLASSES
    from rest_framework.request import Request
    from rest_framework.views import APIView


class _LiveRateMixin(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)


class ApiUserThrottle(_LiveRateMixin, UserRateThrottle):
    """Per authenticated user (anonymous clients by address): ``API_THROTTLE_USER``."""


class ApiAnonThrottle(_LiveRateMixin, AnonRateThrottle):
    """Per client address, anonymous requests only: ``API_THROTTLE_ANON``."""


class TokenObtainThrottle(_LiveRateMixin, AnonRateThrottle):
    """Per client address on ``POST /api/auth/token/`` (password guessing): ``API_THROTTLE_TOKEN``."""

    scope = "token_obtain"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
