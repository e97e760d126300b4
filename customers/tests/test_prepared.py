"""Prepared statements for the API's per-request SQL (customers/prepared.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import ProgrammingError, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.tests.test_settings import run_manage
from customers.prepared import prepared_cursor
from customers.tests.factories import customers_create

URL = "/api/customers/"


def _prepared_statements() -> list[str]:
    """Statements psycopg prepared on this connection (a test's rollback deallocates them all)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name LIKE '\\_pg3\\_%%'")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_after_the_threshold_and_reads_the_same(db: None) -> None:
    sql = "SELECT %s::int + 1, %s::text"
    results = []
    for value in range(4):
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, [value, "x"])
            results.append(cursor.fetchall())
    assert results == [[(value + 1, "x")] for value in range(4)]
    assert [s for s in _prepared_statements() if "::int + 1" in s] == ["SELECT $1::int + 1, $2::text"]


def test_binary_rows_read_as_djangos_text_rows(db: None) -> None:
    sql = (
        "SELECT %s::timestamptz, %s::date, %s::bigint, %s::varchar, %s::boolean, %s::numeric, "
        "ARRAY['customers.view_customer', %s], NULL::timestamptz"
    )
    params: list[Any] = ["2026-03-22T10:11:12.000013+05:00", "0001-01-01", 2**40, "é\u2028", True, "1.5", "x"]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        expected = cursor.fetchall()
    with prepared_cursor(connection, binary=True) as cursor:
        cursor.execute(sql, params)
        assert cursor.fetchall() == expected
    assert expected[0][0].utcoffset() == dt.timedelta(0)  # read in the session's time zone, UTC


def test_the_query_log_shows_the_statement_with_its_values(db: None) -> None:
    with CaptureQueriesContext(connection) as captured, prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s::text", ["it's"])
    assert captured[0]["sql"] == "SELECT 'it''s'::text"


def test_a_database_error_is_djangos(db: None) -> None:
    with pytest.raises(ProgrammingError), prepared_cursor(connection) as cursor:
        cursor.execute("SELECT no_such_column FROM customers_customer WHERE id = %s", [1])


def test_the_token_lookup_unfiltered_pages_and_the_search_walk_are_prepared_filtered_ones_are_not(
    api: APIClient,
) -> None:
    customers_create(30)
    for _ in range(3):
        first = api.get(f"{URL}?page_size=5").json()
        api.get(first["next"])
        api.get(f"{URL}?search=example&page_size=5")
        api.get(f"{URL}?country=usa&page_size=5")
    statements = _prepared_statements()
    assert any('FROM "knox_authtoken"' in s for s in statements)
    pages = [s for s in statements if 'FROM "customers_customer"' in s]
    # The first page, the page after a cursor, and the search's walk (the same text for any term).
    assert len(pages) == 3
    assert len([s for s in pages if "strpos(" in s]) == 1
    assert not [s for s in pages if "ILIKE" in s or "UPPER" in s or "LIKE" in s]


def test_prepared_statements_can_be_turned_off() -> None:
    code = "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'].get(%r))"
    code %= "prepare_threshold"
    on = run_manage("shell", "-c", code, DEBUG="true")
    off = run_manage("shell", "-c", code, DEBUG="true", DB_PREPARED_STATEMENTS="false")
    assert (on.stdout.split()[-1], off.stdout.split()[-1]) == ("2", "None"), on.stderr + off.stderr


def _request_started() -> None:
    """What Django does when a request starts on a kept connection: its health check is due again."""
    connection.close_if_unusable_or_obsolete()
    db: Any = connection  # the health check's attributes are not in the stubs
    assert db.health_check_enabled
    assert not db.health_check_done


def _page() -> list[dict[str, Any]]:
    from customers.keyset import Ordering, keyset_page
    from customers.selectors import customer_list
    from customers.serializers import CUSTOMER_FIELDS

    queryset = customer_list().values("pk", *CUSTOMER_FIELDS)
    return keyset_page(queryset=queryset, ordering=Ordering("ingested_at", True), position=None, size=3)[0]


@pytest.mark.django_db(transaction=True)
def test_a_page_sends_no_health_check_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # The page's statement is the check: one round trip instead of two.
    customers_create(4)
    _page()
    checks: list[bool] = []
    is_usable = connection.is_usable

    def counted() -> bool:
        checks.append(True)
        return bool(is_usable())

    monkeypatch.setattr(connection, "is_usable", counted)
    _request_started()
    assert len(_page()) == 3
    assert checks == []
    assert getattr(connection, "health_check_done")  # noqa: B009 (not in the stubs)


@pytest.mark.django_db(transaction=True)
def test_a_page_on_a_connection_the_server_dropped_reconnects_and_answers() -> None:
    import psycopg

    customers_create(4)
    expected = _page()
    _request_started()
    pid = connection.connection.info.backend_pid
    params = {
        k: v for k, v in connection.get_connection_params().items() if k not in {"context", "cursor_factory"}
    }
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert _page() == expected
    assert connection.connection.info.backend_pid != pid


@pytest.mark.django_db(transaction=True)
def test_a_read_failing_on_a_live_connection_is_raised_not_repeated() -> None:
    from django.db import OperationalError

    from customers.prepared import rows_read

    customers_create(1)
    _page()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '50ms'")
    _request_started()
    try:
        with CaptureQueriesContext(connection) as queries, pytest.raises(OperationalError, match="timeout"):
            rows_read(connection, "SELECT pg_sleep(%s)", [1], prepare=True)
        assert len(queries) == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
