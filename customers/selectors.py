"""Reads on customers, shared by the API, the admin and the benchmarks."""

from __future__ import annotations

from django.db.models import F, QuerySet

from customers.expressions import SEARCH_SEPARATOR, LikeContains
from customers.models import Customer

SEARCH_CONTROL_CHARACTERS = "Search text must not contain control characters."
# A trigram index answers only terms of 3+ characters; a shorter one would read the whole table.
SEARCH_MIN_LENGTH = 3
SEARCH_TOO_SHORT = f"Enter at least {SEARCH_MIN_LENGTH} characters to search."


class SearchTermError(ValueError):
    pass


def search_term_check(*, term: str) -> None:
    """Refuse control characters (they include the column separator) and terms too short to index."""
    if any(ord(char) < 32 or ord(char) == 127 for char in term):
        raise SearchTermError(SEARCH_CONTROL_CHARACTERS)
    if term and len(term) < SEARCH_MIN_LENGTH:
        raise SearchTermError(SEARCH_TOO_SHORT)
    assert SEARCH_SEPARATOR not in term


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.all()


def customer_search(*, queryset: QuerySet[Customer], term: str) -> QuerySet[Customer]:
    """Rows where ``term`` is a case-insensitive substring of a searched column.

    ``search_text LIKE lower('%term%')``: the generated column holds the
    searched columns already lowercased, so a row read costs a byte comparison,
    not six ``lower()`` calls. The same rows as ``ILIKE`` over
    :class:`~customers.expressions.SearchText` (in UTF-8 PostgreSQL's ILIKE is
    ``lower()`` of both sides, then LIKE): accents are not folded, ``Zoë``
    finds ``ZOË``. A rare term is answered by the column's trigram GIN index (terms of 3+
    characters), a common one by walking the ordering index (a prepared walk first, when
    it is the only filter: ``customers.keyset.WALK_ROWS``). An empty term filters nothing.
    """
    search_term_check(term=term)
    if not term:
        return queryset
    return queryset.filter(LikeContains(F("search_text"), term))
