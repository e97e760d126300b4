from __future__ import annotations

import socket

import pytest
from django.db import connection
from django.test import Client

from config import health


@pytest.mark.django_db
def test_healthz_is_ok_when_database_answers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
def test_healthz_is_503_unavailable_without_naming_the_database_when_it_is_unreachable(
    client: Client,
) -> None:
    saved = dict(connection.settings_dict)
    connection.close()
    # A plain PostgreSQL backend pointed at a port where nothing listens.
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": _closed_port()})
    connection.settings_dict["OPTIONS"] = {"connect_timeout": 2}
    original_params = connection.get_connection_params
    connection.get_connection_params = lambda: {  # type: ignore[method-assign]
        "host": "127.0.0.1",
        "port": connection.settings_dict["PORT"],
        "dbname": "postgres",
        "user": "postgres",
        "connect_timeout": 2,
    }
    try:
        response = client.get("/healthz")
    finally:
        connection.get_connection_params = original_params  # type: ignore[method-assign]
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    # Neither the host, the port nor the driver's error text: anonymous callers learn nothing.
    assert response.json() == {"status": "unavailable"}


@pytest.mark.django_db
def test_healthz_is_503_until_the_database_is_migrated_then_checks_it_no_more(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    behind: list[str | None] = ["database not migrated: 1 migration(s) to apply, the first etl.0007_x"]
    looked = []

    def not_migrated_message() -> str | None:
        looked.append(1)
        return behind[0]

    monkeypatch.setattr(health, "_migrated", False)
    monkeypatch.setattr(health, "not_migrated_message", not_migrated_message)

    assert (client.get("/healthz").status_code, client.get("/healthz").json()) == (
        503,
        {"status": "unavailable"},
    )
    behind[0] = None  # `migrate` ran
    assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    assert len(looked) == 3  # twice while behind, once to find it migrated, then never again


def test_healthz_needs_no_authentication_and_no_trailing_slash() -> None:
    from django.urls import resolve

    assert resolve("/healthz").url_name == "healthz"
