"""``search``: case-insensitive substring over six columns, on the stored lowercase ``search_text``."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import Lookup, Value
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from customers import keyset
from customers.expressions import SearchText, like_pattern_contains
from customers.keyset import short_walks
from customers.models import Customer
from customers.selectors import SEARCH_CONTROL_CHARACTERS, SEARCH_TOO_SHORT, customer_search
from customers.tests.factories import INGESTED_AT, customer_build, customers_create

URL = "/api/customers/"


@pytest.fixture
def target(db: None) -> Customer:
    customers_create(10, first_name="Bob", last_name="Stone", company="Globex", city="Lyon", country="France")
    row = customer_build(
        first_name="Zoë",
        last_name="Quimby",
        email="zq@Wonder-Mail.example",
        company="Blue_Widgets 100%",
        city="Valparaíso",
        country="Chile",
    )
    row.save()
    return row


@pytest.mark.parametrize(
    "term",
    ["zoë", "QUIMB", "wonder-mail", "widgets 100%", "_widgets", "PARAÍ", "hil", "Zoë"],
)
def test_search_finds_a_case_insensitive_substring_of_each_searched_column(
    api: APIClient, target: Customer, term: str
) -> None:
    results = api.get(URL, {"search": term}).json()["results"]
    assert [r["customer_id"] for r in results] == [target.customer_id]


@pytest.mark.parametrize("term", ["Quimby\x1fBlue", "zoë quimby", "100%", "Blue%Widgets", "B_ue"])
def test_search_matches_neither_across_columns_nor_with_wildcards(
    api: APIClient, target: Customer, term: str
) -> None:
    response = api.get(URL, {"search": term})
    if "\x1f" in term:
        assert response.status_code == 400
        assert response.json() == {"search": [SEARCH_CONTROL_CHARACTERS]}
        return
    assert response.status_code == 200
    expected = [target.customer_id] if term == "100%" else []
    assert [r["customer_id"] for r in response.json()["results"]] == expected


@pytest.mark.parametrize("term", ["a", "Zo", "%%"])
def test_search_terms_under_three_characters_are_a_400(api: APIClient, target: Customer, term: str) -> None:
    response = api.get(URL, {"search": term})
    assert response.status_code == 400
    assert response.json() == {"search": [SEARCH_TOO_SHORT]}


# Case pairs PostgreSQL's lower() and Python's str.lower() treat differently, accents
# (never folded: "jose" does not find "José"), a final sigma, a title-case digraph.
UNICODE_NAMES = ("José", "STRAßE", "İlhan", "ΟΔΥΣΣΕΥΣ", "ǅemal", "Ærø")
UNICODE_TERMS = (
    *("jose", "josé", "JOSÉ", "straße", "STRASSE", "ilhan", "İlh"),
    *("οδυσσευσ", "ΔΥΣΣ", "ǆem", "æRØ"),
)


@pytest.mark.parametrize("term", UNICODE_TERMS)
def test_search_finds_what_ilike_over_the_columns_finds(db: None, term: str) -> None:
    # search_text is lower() of the columns, compared with lower(term): in UTF-8 that is what
    # ILIKE does, so the rows are the ones the ILIKE over the columns found before.
    for name in UNICODE_NAMES:
        customer_build(first_name=name, city=name.upper(), email=f"{name.lower()}@x.example").save()
    customer_build(first_name="Nobody").save()
    expected = Customer.objects.filter(
        ILikeForTest(SearchText(), Value(like_pattern_contains(term)))
    ).values_list("customer_id", flat=True)
    found = customer_search(queryset=Customer.objects.all(), term=term).values_list("customer_id", flat=True)
    assert sorted(found) == sorted(expected)


class ILikeForTest(Lookup):
    """The comparison search made before search_text: ``expression ILIKE pattern``."""

    lookup_name = "ilike_for_test"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


def test_search_text_is_the_searched_columns_lowercased_and_follows_edits(db: None) -> None:
    row = customer_build(first_name="Zoë", last_name="QUIMBY", city="Valparaíso")
    row.save()
    row.last_name = "Stone"
    row.save()
    stored = Customer.objects.values_list("search_text", flat=True).get(pk=row.pk)
    assert (
        stored
        == "\x1f".join(
            getattr(row, f) for f in ("first_name", "last_name", "email", "company", "city", "country")
        ).lower()
    )
    assert "stone" in stored
    assert "quimby" not in stored


def test_search_compares_the_stored_lowercase_text_not_the_columns(db: None) -> None:
    sql = str(customer_search(queryset=Customer.objects.all(), term="Alice").query)
    where = sql.split(" WHERE ", 1)[1]
    assert where.startswith('"customers_customer"."search_text" LIKE (LOWER('), where
    assert "ILIKE" not in where
    assert '"first_name"' not in where


def test_search_does_not_look_at_other_columns(api: APIClient, target: Customer) -> None:
    assert api.get(URL, {"search": target.phone_1}).json()["results"] == []


def test_empty_search_filters_nothing(api: APIClient, target: Customer) -> None:
    assert len(api.get(URL, {"search": ""}).json()["results"]) == 11


def test_search_query_uses_the_trigram_index(db: None) -> None:
    Customer.objects.bulk_create(
        customer_build(last_name=f"Family{n * 7919 % 10007:05d}", email=f"u{n}@ex.org") for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        # On a few thousand rows reading the whole table is cheapest; on millions it
        # is not. Taking it off the table shows the index matches the query's expression.
        cursor.execute("SET LOCAL enable_seqscan = off")
    queryset = customer_search(queryset=Customer.objects.order_by(), term="Family01234")
    plan = queryset.explain()
    assert "customer_search_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_search_text_keeps_a_thousand_histogram_bounds(db: None) -> None:
    # At the default 100, a term in 0.5% of 1M rows ("alice") was estimated at the 0.01%
    # floor, so every match was fetched through the trigram index and sorted (2x slower).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'customers_customer'::regclass AND attname = 'search_text'"
        )
        target = importlib.import_module("customers.migrations.0007_search_text")
        assert cursor.fetchone() == (target.SEARCH_TEXT_STATISTICS,)
        # The expression's statistics (0003) went with the expression's index.
        cursor.execute("SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'customer_search_text_stats'")
        assert cursor.fetchone() == (0,)


# The walk first: a search's page read from the next WALK_ROWS rows in the page's order
# (customers.keyset), the planned statement only when the walk comes up short.


@pytest.fixture
def searchable(db: None) -> list[Customer]:
    """120 rows, every third one matching "quimb" in another column and letter case; ties on most keys."""
    rows = []
    for n in range(120):
        overrides: dict[str, Any] = {"ingested_at": INGESTED_AT + dt.timedelta(minutes=n % 4)}
        if n % 3 == 0:
            column = ("first_name", "last_name", "email", "company", "city", "country")[n % 6]
            overrides[column] = "QUIMBY" if column != "email" else f"x{n}@Quimby.example"
        rows.append(customer_build(**overrides))
    return Customer.objects.bulk_create(rows)


@pytest.fixture(autouse=True)
def _no_remembered_short_walks() -> Iterator[None]:
    short_walks.clear()
    yield
    short_walks.clear()


def _pages(api: APIClient, url: str, link: str = "next") -> list[str]:
    ids: list[str] = []
    next_url: str | None = url
    for _ in range(200):  # bounded: a looping cursor fails the test instead of hanging
        if next_url is None:
            return ids
        body = api.get(next_url).json()
        results = body["results"] if link == "next" else list(reversed(body["results"]))
        ids.extend(r["customer_id"] for r in results)
        next_url = body[link]
    raise AssertionError(f"{link} links did not end")


def _expected(term: str, ordering: str) -> list[str]:
    field = ordering.removeprefix("-")
    order = [f"-{field}", "-id"] if ordering.startswith("-") else [field, "id"]
    rows = Customer.objects.filter(ILikeForTest(SearchText(), Value(like_pattern_contains(term))))
    return list(rows.order_by(*order).values_list("customer_id", flat=True))


WALK_ORDERINGS = ["-ingested_at", "ingested_at", "country", "-subscription_date", "index"]


@pytest.mark.parametrize("walk_rows", [10_000, 12])
@pytest.mark.parametrize("ordering", WALK_ORDERINGS)
def test_a_searched_walk_returns_every_match_once_in_order_whether_or_not_the_walk_answers(
    api: APIClient,
    searchable: list[Customer],
    monkeypatch: pytest.MonkeyPatch,
    ordering: str,
    walk_rows: int,
) -> None:
    # 12 rows walked hold about 4 matches: pages of 3 (4 rows asked) are sometimes the walk's,
    # sometimes the planner's; nothing is remembered as short, so every page tries the walk.
    monkeypatch.setattr(keyset, "WALK_ROWS", walk_rows)
    monkeypatch.setattr(keyset._ShortWalks, "size", 0)
    url = f"{URL}?search=qUiMb&ordering={ordering}&page_size=3"
    expected = _expected("quimb", ordering)
    assert len(expected) == 40
    with CaptureQueriesContext(connection) as queries:
        assert _pages(api, url) == expected
        last = api.get(url).json()
        while last["next"]:
            last = api.get(last["next"]).json()
        backwards = _pages(api, last["previous"], link="previous") if last["previous"] else []  # last first
    assert [*reversed(backwards), *(r["customer_id"] for r in last["results"])] == expected
    walks = [q["sql"] for q in queries if "strpos(" in q["sql"]]
    planned = [q["sql"] for q in queries if "LIKE" in q["sql"]]
    assert len(walks) > len(planned) > 0  # both paths taken; the walk answered most pages


def test_a_common_terms_page_is_the_walks_one_prepared_statement(
    api: APIClient, searchable: list[Customer]
) -> None:
    with CaptureQueriesContext(connection) as queries:
        body = api.get(f"{URL}?search=quimb&page_size=5").json()
    pages = [q["sql"] for q in queries if 'FROM "customers_customer"' in q["sql"]]
    assert len(pages) == 1
    assert "strpos(" in pages[0]
    assert "LIKE" not in pages[0]
    assert [r["customer_id"] for r in body["results"]] == _expected("quimb", "-ingested_at")[:5]
    assert "quimb" not in short_walks


def test_a_rare_term_walks_once_then_goes_to_the_planner(api: APIClient, searchable: list[Customer]) -> None:
    customer_build(last_name="Rasmussen-Vega").save()
    for expected_statements in (["strpos(", "LIKE"], ["LIKE"]):
        with CaptureQueriesContext(connection) as queries:
            body = api.get(URL, {"search": "rasmussen"}).json()
        pages = [q["sql"] for q in queries if 'FROM "customers_customer"' in q["sql"]]
        assert [next(m for m in ("strpos(", "LIKE") if m in sql) for sql in pages] == expected_statements
        assert len(body["results"]) == 1
    assert "rasmussen" in short_walks


def test_the_remembered_short_walks_are_the_most_recent_ones() -> None:
    walks = keyset._ShortWalks()
    for n in range(walks.size + 5):
        walks.add(f"term{n}")
    walks.add("term10")  # seen again: kept as recent
    walks.add("one more")
    assert [term in walks for term in ("term0", "term5", "term10", "one more", f"term{walks.size + 4}")] == [
        False,
        False,
        True,
        True,
        True,
    ]


@pytest.mark.parametrize("bounded", [False, True])
def test_the_walk_reads_the_ordering_index_without_sorting(searchable: list[Customer], bounded: bool) -> None:
    ordering = keyset.Ordering(field="ingested_at", descending=True)
    names = ("pk", "customer_id", "ingested_at")
    sql = keyset._walk_statement(Customer, names, ordering, "default", "search_text", bounded, 21, 10_000)
    assert sql is not None
    params: list[Any] = [INGESTED_AT + dt.timedelta(minutes=2), 60] if bounded else []
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        # What a million rows decide; 120 rows would be read whole, or by bitmap and sorted.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", [*params, "quimb"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cust_ingested_at_keyset" in plan, plan
    assert "Sort" not in plan, plan
