"""``manage.py migrate`` is the whole database set-up: a fresh database then issues API tokens and caches.

Child processes on a database of their own (pytest-django runs
``createcachetable`` for the test database, so only a fresh one shows it).
"""

from __future__ import annotations

import pytest

from testsupport.manage import manage_in

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


@pytest.mark.slow
def test_a_fresh_database_after_migrate_alone_issues_a_token(fresh_database: str) -> None:
    migrated = manage_in(fresh_database, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    issued = manage_in(fresh_database, "shell", "--no-imports", "-c", ISSUE_TOKEN)
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.strip().splitlines()[-1] == "200 ['expiry', 'token']", issued.stdout + issued.stderr


@pytest.mark.slow
def test_a_fresh_database_after_migrate_alone_has_a_working_cache(fresh_database: str) -> None:
    migrated = manage_in(fresh_database, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    used = manage_in(fresh_database, "shell", "--no-imports", "-c", USE_THE_CACHE)
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().splitlines()[-1] == "42"
