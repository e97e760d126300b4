"""Keyset pagination: exact walks under every ordering, cursors, page sizes, query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.utils.urls import remove_query_param, replace_query_param

from customers.cursors import CURSOR_ORDERING_MISMATCH, INVALID_CURSOR
from customers.keyset import (
    UNKNOWN_ORDERING,
    Ordering,
    Position,
    _order_by,
    _values_page,
    keyset_after,
    keyset_page,
)
from customers.models import Customer
from customers.pagination import INVALID_PAGE_SIZE, _Link
from customers.selectors import customer_list, customer_search
from customers.serializers import CUSTOMER_FIELDS
from customers.tests.factories import INGESTED_AT, customers_create
from customers.views import ORDERING_FIELDS

URL = "/api/customers/"
ORDERINGS = [name for field in ORDERING_FIELDS for name in (field, f"-{field}")]
ROWS = 230


@pytest.fixture
def many(db: None) -> list[Customer]:
    # Heavy ties: 3 countries, 7 index values, 11 dates, one shared ingested_at
    # for most rows plus a second file, so every ordering has long runs of equal keys.
    rows = customers_create(ROWS - 30)
    rows += customers_create(30, ingested_at=INGESTED_AT + dt.timedelta(hours=1), source_file="b.csv")
    return rows


def _walk(api: APIClient, url: str, link: str = "next") -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    next_url: str | None = url
    for _ in range(ROWS + 2):  # bounded: a looping cursor fails the test instead of hanging
        if next_url is None:
            return seen
        response = api.get(next_url)
        assert response.status_code == 200, response.content
        body = response.json()
        results = body["results"] if link == "next" else list(reversed(body["results"]))
        seen.extend(results)
        next_url = body[link]
    raise AssertionError(f"{link} links did not end")


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_following_next_returns_every_row_once_in_order(
    api: APIClient, many: list[Customer], ordering: str
) -> None:
    seen = _walk(api, f"{URL}?ordering={ordering}&page_size=17")
    ids = [row["customer_id"] for row in seen]
    assert len(ids) == len(set(ids)) == ROWS
    field = ordering.lstrip("-")
    pks = {c.customer_id: c.pk for c in many}
    keys = [(row[field], pks[row["customer_id"]]) for row in seen]
    assert keys == sorted(keys, reverse=ordering.startswith("-"))


@pytest.mark.parametrize("ordering", ["country", "-country", "ingested_at", "-ingested_at", "-index"])
def test_following_previous_from_the_end_returns_every_row_once(
    api: APIClient, many: list[Customer], ordering: str
) -> None:
    forward = _walk(api, f"{URL}?ordering={ordering}&page_size=19")
    # Jump to the last page, then walk back to the first.
    last_page_url = None
    url: str | None = f"{URL}?ordering={ordering}&page_size=19"
    while url is not None:
        last_page_url = url
        url = api.get(url).json()["next"]
    assert last_page_url is not None
    backward = _walk(api, last_page_url, link="previous")
    assert [r["customer_id"] for r in reversed(backward)] == [r["customer_id"] for r in forward]


def test_default_ordering_is_newest_ingested_first(api: APIClient, many: list[Customer]) -> None:
    results = api.get(URL).json()["results"]
    newest = sorted((c for c in many if c.source_file == "b.csv"), key=lambda c: -c.pk)
    assert [r["customer_id"] for r in results] == [c.customer_id for c in newest[:20]]


def test_first_page_has_no_previous_and_last_page_has_no_next(api: APIClient, many: list[Customer]) -> None:
    first = api.get(f"{URL}?page_size=200").json()
    assert first["previous"] is None
    last = api.get(first["next"]).json()
    assert len(last["results"]) == ROWS - 200
    assert last["next"] is None
    assert last["previous"] is not None


def test_page_size_defaults_to_20_and_goes_up_to_200(api: APIClient, many: list[Customer]) -> None:
    assert len(api.get(URL).json()["results"]) == 20
    assert len(api.get(f"{URL}?page_size=200").json()["results"]) == 200


@pytest.mark.parametrize(
    "value", ["0", "-3", "ten", "1.5", "201", "5000", " 5", "\u0665", "99999999999999999999"]
)
def test_bad_page_size_is_a_400_naming_it(api: APIClient, value: str) -> None:
    response = api.get(f"{URL}?page_size={value}")
    assert response.status_code == 400
    assert response.json() == {"page_size": [INVALID_PAGE_SIZE.format(maximum=200)]}


def test_unknown_ordering_is_a_400_listing_the_allowed_fields(api: APIClient) -> None:
    response = api.get(f"{URL}?ordering=phone_1")
    assert response.status_code == 400
    allowed = ", ".join(ORDERING_FIELDS)
    assert response.json() == {"ordering": [UNKNOWN_ORDERING.format(value="phone_1", allowed=allowed)]}


@pytest.mark.parametrize("change", ["flip", "truncate", "garbage", "empty-payload"])
def test_tampered_cursor_is_a_400(api: APIClient, many: list[Customer], change: str) -> None:
    next_url = api.get(f"{URL}?ordering=country").json()["next"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]
    tampered = {
        "flip": cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),
        "truncate": cursor[: len(cursor) // 2],
        "garbage": "not-a-cursor",
        "empty-payload": "." + cursor.split(".")[-1],
    }[change]
    response = api.get(URL, {"ordering": "country", "cursor": tampered})
    assert response.status_code == 400
    assert response.json() == {"cursor": [INVALID_CURSOR]}


def test_cursor_from_another_ordering_is_a_400(api: APIClient, many: list[Customer]) -> None:
    next_url = api.get(f"{URL}?ordering=country").json()["next"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]
    response = api.get(URL, {"ordering": "-country", "cursor": cursor})
    assert response.status_code == 400
    message = CURSOR_ORDERING_MISMATCH.format(cursor="country", requested="-country")
    assert response.json() == {"cursor": [message]}


def _queries_for(api: APIClient, url: str) -> tuple[int, str | None]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200
    return len(captured), response.json()["next"]


def test_every_page_costs_the_same_queries(
    api: APIClient, many: list[Customer], django_assert_num_queries: Any
) -> None:
    first_count, next_url = _queries_for(api, f"{URL}?ordering=country&page_size=10")
    for _ in range(8):
        assert next_url is not None
        with django_assert_num_queries(first_count):
            response = api.get(next_url)
        next_url = response.json()["next"]


def test_a_page_is_one_select_on_the_customer_table_without_count_or_offset(
    api: APIClient, many: list[Customer]
) -> None:
    next_url = api.get(f"{URL}?ordering=-city&page_size=10").json()["next"]
    with CaptureQueriesContext(connection) as captured:
        api.get(next_url)
    customer_queries = [q["sql"] for q in captured if "customers_customer" in q["sql"]]
    assert len(customer_queries) == 1
    sql = customer_queries[0].upper()
    assert "COUNT(" not in sql
    assert "OFFSET" not in sql
    assert "LIMIT 11" in sql


@pytest.mark.parametrize("descending", [False, True])
def test_keyset_walk_is_exact_on_a_nullable_column(db: None, descending: bool) -> None:
    # phone_2 is NULL on two rows in three: the boundary often falls inside the NULL block.
    rows = customers_create(40)
    ordering = Ordering(field="phone_2", descending=descending)
    seen: list[Customer] = []
    position: Position | None = None
    for _ in range(20):
        page, more = keyset_page(
            queryset=Customer.objects.all(), ordering=ordering, position=position, size=6
        )
        seen.extend(page)
        if not more:
            break
        last = page[-1]
        position = Position(ordering=ordering, value=last.phone_2, pk=last.pk, forward=True)
    assert sorted(c.pk for c in seen) == sorted(c.pk for c in rows)
    nulls = [c.pk for c in seen if c.phone_2 is None]
    values = [c.phone_2 for c in seen if c.phone_2 is not None]
    # NULLs last ascending, first descending; ties by id in the same direction.
    expected_nulls = sorted(nulls, reverse=descending)
    assert [c.pk for c in seen if c.phone_2 is None] == expected_nulls
    assert values == sorted(values, reverse=descending)
    if descending:
        assert seen[0].phone_2 is None
    else:
        assert seen[-1].phone_2 is None


def _orm_page(queryset: Any, ordering: Ordering, limit: int) -> list[Any]:
    return list(queryset.order_by(*_order_by(queryset.model, ordering))[:limit])


@pytest.mark.parametrize("field", ORDERING_FIELDS)
@pytest.mark.parametrize("descending", [False, True])
def test_a_values_page_reads_what_the_orm_reads(db: None, field: str, descending: bool) -> None:
    customers_create(30)
    ordering = Ordering(field=field, descending=descending)
    rows = customer_list().values("pk", *CUSTOMER_FIELDS)
    middle = _orm_page(rows, ordering, 12)[-1]
    after = keyset_after(model=Customer, ordering=ordering, value=middle[field], pk=middle["pk"])
    for queryset in (
        rows,
        rows.filter(after),
        customer_search(queryset=rows, term="exam"),
        customer_search(queryset=rows.filter(after), term="son"),
        rows.filter(country__iexact="usa"),
        rows.filter(pk__in=[]),  # nothing can match: no statement at all
    ):
        expected = _orm_page(queryset, ordering, 7)
        assert _values_page(queryset, ordering, 7, prepare=False) == expected
        for _ in range(3):  # bound on the server, then prepared after DB_PREPARED_STATEMENTS' threshold
            assert _values_page(queryset, ordering, 7, prepare=True) == expected


def test_a_model_queryset_or_a_join_goes_through_the_orm(db: None) -> None:
    ordering = Ordering(field="country", descending=False)
    assert _values_page(Customer.objects.all(), ordering, 5, prepare=False) is None
    assert _values_page(Customer.objects.values("pk").distinct(), ordering, 5, prepare=False) is None


@pytest.mark.parametrize("url", [f"{URL}?ordering=-city&page_size=10", f"{URL}?page_size=10"])
def test_a_deep_page_statement_seeks_the_keyset_index(api: APIClient, many: list[Customer], url: str) -> None:
    next_url = api.get(url).json()["next"]
    with CaptureQueriesContext(connection) as captured:
        api.get(next_url)
    (sql,) = [q["sql"] for q in captured if "customers_customer" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "keyset" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.parametrize("field", ORDERING_FIELDS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("forward", [False, True])
@pytest.mark.parametrize("values", [True, False])
def test_a_prebuilt_keyset_bound_reads_what_the_orm_bound_reads(
    db: None, field: str, descending: bool, forward: bool, values: bool
) -> None:
    customers_create(30)
    ordering = Ordering(field=field, descending=descending)
    rows = customer_list().values("pk", *CUSTOMER_FIELDS)
    middle = _orm_page(rows, ordering, 12)[-1]
    position = Position(ordering=ordering, value=middle[field], pk=middle["pk"], forward=forward)
    travel = ordering if forward else ordering.reversed()
    after = keyset_after(model=Customer, ordering=travel, value=middle[field], pk=middle["pk"])
    expected = _orm_page(rows.filter(after), travel, 6)[:5]
    if not forward:
        expected.reverse()
    queryset = rows if values else Customer.objects.all()  # a model queryset goes through the ORM
    page, _more = keyset_page(queryset=queryset, ordering=ordering, position=position, size=5)
    assert [row["pk"] if values else row.pk for row in page] == [row["pk"] for row in expected]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "page_size=5",
        "cursor=old&search=b&country=a",
        "country=a&country=b&cursor=",
        "search=&x",
        "search=caf%C3%A9+x%2By%26z%3D1",
        "search=%ff%fe",
    ],
)
@pytest.mark.parametrize("value", ["tok:en", None])
def test_a_link_is_the_url_drf_would_build_from_the_whole_request_url(query: str, value: str | None) -> None:
    request = Request(APIRequestFactory().get(f"{URL}?{query}" if query else URL, secure=True))
    url = request.build_absolute_uri()
    drf = remove_query_param(url, "cursor") if value is None else replace_query_param(url, "cursor", value)

    assert _Link(request, "cursor").to(value) == drf


def test_a_link_keeps_a_raw_utf8_parameter_as_the_filter_read_it() -> None:
    # Sent unescaped, as some clients do: the WSGI server hands the query string over as Latin-1.
    # DRF's replace_query_param, re-reading the URL, turned "café" into "cafÃ©" in the links.
    request = Request(APIRequestFactory().get(f"{URL}?search=caf\u00e9&ordering=-city", secure=True))
    assert request.query_params["search"] == "caf\u00e9"

    link = _Link(request, "cursor").to("tok:en")

    expected = {"search": ["caf\u00e9"], "ordering": ["-city"], "cursor": ["tok:en"]}
    assert parse_qs(urlsplit(link).query) == expected


def test_a_filter_sent_as_raw_utf8_holds_on_every_page(api: APIClient, db: None) -> None:
    customers_create(5, city="Bogot\u00e1")
    customers_create(3, city="Lima")
    # Unescaped in the URL, as some clients send it (the test client passes it on as a WSGI server does).
    seen = _walk(api, f"{URL}?city=Bogot\u00e1&page_size=2")
    assert [row["city"] for row in seen] == ["Bogot\u00e1"] * 5
