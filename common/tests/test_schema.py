"""Commands on a database behind the code: one line naming the migrations to apply, not a traceback."""

from __future__ import annotations

import json

import pytest
from django.db import ProgrammingError

from common.schema import NOT_MIGRATED, not_migrated_message, schema_checked
from customers.exceptions import DATABASE_NOT_MIGRATED
from testsupport import SAMPLE
from testsupport.manage import manage_in

NOT_MIGRATED_START = "CommandError: " + NOT_MIGRATED.split("{", 1)[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ("ingest", "--path", str(SAMPLE)),
        ("worker",),
        ("create_api_token", "admin"),
        ("lake", "sync"),
    ],
)
def test_a_command_on_a_database_never_migrated_says_to_migrate(
    fresh_database: str, command: tuple[str, ...]
) -> None:
    # The embedded server makes the database on first connection: empty, never migrated.
    done = manage_in(fresh_database, *command)

    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(NOT_MIGRATED_START), done.stderr
    assert "(run: python manage.py migrate)" in last
    assert "Traceback" not in done.stderr


SERVED_BY_CODE_AHEAD = """
import json
from django.test import Client
client = Client(HTTP_HOST="localhost")
answers = [client.get("/healthz"), client.get("/api/customers/"), client.post("/api/auth/token/", {})]
print(json.dumps([[r.status_code, r.json(), r.get("Retry-After")] for r in answers]))
"""


@pytest.mark.slow
def test_the_service_on_a_database_never_migrated_answers_503_in_json(fresh_database: str) -> None:
    done = manage_in(fresh_database, "shell", "--no-imports", "-c", SERVED_BY_CODE_AHEAD)

    assert done.returncode == 0, done.stderr
    health, customers, token = json.loads(done.stdout.strip().splitlines()[-1])
    assert health == [503, {"status": "unavailable"}, None]
    assert customers == token == [503, {"detail": DATABASE_NOT_MIGRATED}, "30"]


@pytest.mark.django_db
def test_an_up_to_date_database_has_nothing_to_say() -> None:
    assert not_migrated_message() is None


@pytest.mark.django_db
def test_any_other_programming_error_is_raised_as_it_is() -> None:
    with pytest.raises(ProgrammingError, match="not about migrations"), schema_checked():
        raise ProgrammingError("not about migrations")
