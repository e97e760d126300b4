"""``search``: case-insensitive substring over six columns, answered by the trigram index."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer
from customers.selectors import SEARCH_CONTROL_CHARACTERS, SEARCH_TOO_SHORT, customer_search
from customers.tests.factories import customer_build, customers_create

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


def test_search_statistics_cover_the_indexed_expression(db: None) -> None:
    # The planner only uses the statistics when their expression is the index's, character for character.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_statisticsobjdef_expressions(oid) FROM pg_statistic_ext "
            "WHERE stxname = 'customer_search_text_stats'"
        )
        (stats_expressions,) = cursor.fetchone()
        cursor.execute("SELECT pg_get_indexdef('customer_search_trgm'::regclass, 1, true)")
        (index_expression,) = cursor.fetchone()

    # The two deparsers place parentheses differently; operands and operators must match.
    def bare(sql: str) -> str:
        return sql.replace("(", "").replace(")", "")

    assert [bare(e) for e in stats_expressions] == [bare(index_expression)]


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


def test_search_index_keeps_a_thousand_histogram_bounds(db: None) -> None:
    # At the default 100, a term in 0.5% of 1M rows ("alice") was estimated at the 0.01%
    # floor, so every match was fetched through the trigram index and sorted (2x slower).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'customer_search_trgm'::regclass AND attnum = 1"
        )
        target = importlib.import_module("customers.migrations.0006_search_index_statistics_target")
        assert cursor.fetchone() == (target.SEARCH_INDEX_STATISTICS,)
