"""``manage.py migrate`` is the whole database set-up: a fresh database then issues API tokens and caches.

Child processes on a database of their own (pytest-django runs
``createcachetable`` for the test database, so only a fresh one shows it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql
from pytest_django import DjangoDbBlocker

ROOT = Path(__file__).resolve().parents[2]

ISSUE_TOKEN = """
from django.contrib.auth import get_user_model
from django.test import Client
get_user_model().objects.create_user(username="newcomer", password="a long enough password 123")
response = Client(SERVER_NAME="localhost").post(
    "/api/auth/token/",
    {"username": "newcomer", "password": "a long enough password 123"},
    content_type="application/json",
)
print(response.status_code, sorted(response.json()) if response.status_code < 500 else "")
"""

USE_THE_CACHE = """
from django.core.cache import cache
cache.set("first-hour", 42, timeout=60)
print(cache.get("first-hour"))
"""


def _server_params(django_db_blocker: DjangoDbBlocker) -> dict[str, object]:
    with django_db_blocker.unblock():
        params = connection.get_connection_params()
    return {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}


@pytest.fixture
def fresh_database(django_db_blocker: DjangoDbBlocker) -> Iterator[str]:
    name = f"fresh_{uuid.uuid4().hex[:12]}"
    yield name
    params = _server_params(django_db_blocker)
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:  # type: ignore[arg-type]
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _manage(db_name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBUG="true", DB_NAME=db_name, REDIS_URL="", LOG_LEVEL="warning")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_a_fresh_database_after_migrate_alone_issues_a_token(fresh_database: str) -> None:
    migrated = _manage(fresh_database, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    issued = _manage(fresh_database, "shell", "--no-imports", "-c", ISSUE_TOKEN)
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.strip().splitlines()[-1] == "200 ['expiry', 'token']", issued.stdout + issued.stderr


@pytest.mark.slow
def test_a_fresh_database_after_migrate_alone_has_a_working_cache(fresh_database: str) -> None:
    migrated = _manage(fresh_database, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    used = _manage(fresh_database, "shell", "--no-imports", "-c", USE_THE_CACHE)
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().splitlines()[-1] == "42"
