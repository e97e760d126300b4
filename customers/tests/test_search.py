"""``search``: case-insensitive substring over six columns, on the stored lowercase ``search_text``."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection
from django.db.models import Lookup, Value
from rest_framework.test import APIClient

from customers.expressions import SearchText, like_pattern_contains
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
