"""Browser middleware that the API's paths skip: sessions, the session user, messages, static files.

The API authenticates by token (no session, no cookie), has no messages and
serves no static file, yet every request to it ran these four: a session
store, a lazy user, a message storage built and saved, a static-file lookup.
Each class here is Django's (or WhiteNoise's), passing an ``/api/`` request
straight on; every other path (the admin, the console, Swagger UI's assets)
runs it as before. They stay in ``MIDDLEWARE`` under their own names' subclasses, so
Django's checks (the admin needs sessions, the session user and messages) see them.

What an API request keeps: the NUL guard, security headers
(``SecurityMiddleware``, ``XFrameOptionsMiddleware``), ``CommonMiddleware``,
CSRF (DRF's views are exempt; kept whole for the rest) and django-axes.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.utils.cache import patch_cache_control, patch_vary_headers
from whitenoise.middleware import WhiteNoiseMiddleware

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class SkippedOnApi:
    """Mixed in before a middleware class: an ``/api/`` request goes straight to the next one."""

    get_response: Any

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request) if is_api(request) else super().__call__(request)  # type: ignore[misc]


class BrowserSessionMiddleware(SkippedOnApi, SessionMiddleware):
    pass


class BrowserAuthenticationMiddleware(SkippedOnApi, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(SkippedOnApi, MessageMiddleware):
    pass


class BrowserWhiteNoiseMiddleware(SkippedOnApi, WhiteNoiseMiddleware):
    pass


def api_private_cache_middleware(get_response: Any) -> Any:
    """Every ``/api/`` answer depends on who asks: ``Cache-Control: private, no-cache`` (no
    shared cache keeps one; a client may keep it but asks again, a 304 when its ETag still
    matches) and ``Vary: Authorization``, unless the view said otherwise (``no-store``)."""

    def middleware(request: HttpRequest) -> Any:
        response = get_response(request)
        if is_api(request) and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
            patch_vary_headers(response, ["Authorization"])
        return response

    return middleware
