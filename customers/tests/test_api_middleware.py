"""The API's paths skip the browser middleware (config/middleware.py) and keep the rest."""

from __future__ import annotations

from django.test import Client
from django.utils.functional import SimpleLazyObject
from rest_framework.test import APIClient

URL = "/api/customers/"


def test_an_api_request_runs_no_session_user_or_messages_middleware(api: APIClient) -> None:
    response = api.get(URL)
    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    # The user is the token's, set by DRF's authentication; no lazy session user was made before it.
    assert type(request.__dict__["user"]) is not SimpleLazyObject
    assert not response.cookies


def test_an_api_response_keeps_the_security_headers_and_the_nul_guard(api: APIClient) -> None:
    response = api.get(URL)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert api.get(URL, {"country": "a\x00"}).status_code == 400


def test_other_paths_run_the_browser_middleware(db: None) -> None:
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    assert hasattr(response.wsgi_request, "session")
    assert hasattr(response.wsgi_request, "_messages")
    assert "csrftoken" in response.cookies
    assert response["X-Frame-Options"] == "DENY"
