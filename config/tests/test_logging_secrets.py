"""No secret in any log: the failures of issue #14, triggered in real child processes.

Each test sets known secret values, makes the failure happen, and reads
everything the process wrote: standard output, standard error and the JSON
log file (``LOG_FILE``).
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from customers.services import api_token_create
from customers.tests.servers import gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DB_PASSWORD = "Db-Pa55word-Known-To-The-Test"
SECRET_KEY = "test-secret-key-" + "k" * 50
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "info",
}


def _request(base_url: str, path: str, headers: dict[str, bytes]) -> tuple[int, dict[str, str], bytes]:
    """One GET with raw header bytes (``requests`` refuses what an attacker can send)."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        conn.putrequest("GET", path)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _everything(stderr: Path, log_file: Path) -> str:
    text = stderr.read_text(errors="replace")
    if log_file.exists():
        text += log_file.read_text(errors="replace")
    return text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_database_outage_answers_json_503_and_logs_no_password(tmp_path: Path, log_format: str) -> None:
    stderr, log_file = tmp_path / "stderr.txt", tmp_path / "app.jsonl"
    env = {
        **PRODUCTION,
        "LOG_FORMAT": log_format,
        "LOG_FILE": str(log_file),
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(_closed_port()),
        "DB_USER": "partner",
        "DB_PASSWORD": DB_PASSWORD,
        "DB_CONNECT_TIMEOUT": "2",
    }
    with gunicorn(env=env, ready=503, stderr=stderr) as base_url:
        status, headers, body = _request(
            base_url, "/api/customers/", {"Authorization": b"Token " + b"a" * 64}
        )
        health_status, _, health = _request(base_url, "/healthz", {})
        # No token: the 401 is charged to the anonymous throttle, whose counter (no Redis here)
        # is in the database too.
        anonymous_status, anonymous_headers, _ = _request(base_url, "/api/customers/", {})
    assert status == anonymous_status == 503
    assert anonymous_headers["Content-Type"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Retry-After"]) > 0
    assert "detail" in json.loads(body)
    assert (health_status, json.loads(health)) == (503, {"status": "unavailable"})
    logged = _everything(stderr, log_file)
    assert "api.database_unavailable" in logged
    assert DB_PASSWORD not in logged
    assert SECRET_KEY not in logged


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_valid_token_followed_by_a_non_utf8_byte_is_a_401_and_never_logged(
    tmp_path: Path, log_format: str, django_user_model: Any
) -> None:
    token = api_token_create(user=django_user_model.objects.create_user("mallory"))
    stderr, log_file = tmp_path / "stderr.txt", tmp_path / "app.jsonl"
    env = {**PRODUCTION, "LOG_FORMAT": log_format, "LOG_FILE": str(log_file)}
    with gunicorn(env=env, stderr=stderr) as base_url:
        status, _, body = _request(
            base_url, "/api/customers/", {"Authorization": b"Token " + token.encode() + b"\xff"}
        )
    assert status == 401
    assert json.loads(body) == {"detail": "Invalid token."}
    logged = _everything(stderr, log_file)
    assert token[:16] not in logged
    assert SECRET_KEY not in logged
