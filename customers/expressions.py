"""SQL building blocks of the API's queries and the columns behind them.

The search text is defined once here: ``Customer.search_text`` (a generated
column, trigram-indexed) is ``lower()`` of it, and
:func:`customers.selectors.customer_search` compares with that column.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Expression, F, Func, TextField, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Lookup

# Joins the searched columns. A search term never contains it (control
# characters are refused), so a match can never straddle two columns: a
# substring of the joined text is a substring of one column.
SEARCH_SEPARATOR = "\x1f"
SEARCH_FIELDS = ("first_name", "last_name", "email", "company", "city", "country")


class SearchText(Func):
    """``first_name || E'\\x1f' || last_name || ...``: one text to search (``Customer.search_text``).

    The columns are NOT NULL, so plain ``||`` (immutable, hence indexable) is exact.
    """

    arg_joiner = " || E'\\x1f' || "
    template = "(%(expressions)s)"
    output_field = TextField()

    def __init__(self, **extra: Any) -> None:
        super().__init__(*(F(name) for name in SEARCH_FIELDS), **extra)


class Like(Lookup):
    """``lhs LIKE rhs``, ``rhs`` an expression (``LOWER(%s)``): a form a ``gin_trgm_ops`` index answers.

    Django's ``contains`` takes a value, escaped and wrapped in Python; here the
    pattern is lowercased by PostgreSQL's own ``lower()``, the function the
    generated ``search_text`` is made with.
    """

    lookup_name = "like"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", [*lhs_params, *rhs_params]


class LikeContains(Like):
    """``lhs LIKE lower('%term%')``, the term's wildcards taken literally; it keeps ``term``.

    A walk of an ordering index that filters row by row (``customers.keyset``)
    asks for ``strpos(lhs, lower(term)) > 0`` instead: the same rows, and no
    pattern to match against the column's statistics at planning.
    """

    def __init__(self, lhs: Any, term: str) -> None:
        self.term = term
        super().__init__(lhs, Lower(Value(like_pattern_contains(term))))


def like_pattern_contains(term: str) -> str:
    """``%term%`` with LIKE's wildcards in ``term`` taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class RowCompare(Func):
    """``(a, b) > (x, y)``: a row comparison, which a btree on ``(a, b)`` seeks to directly.

    ``Q(a__gt=x) | Q(a=x, b__gt=y)`` means the same but PostgreSQL cannot use
    it as an index bound, so deep pages would scan every earlier row.
    """

    output_field = BooleanField()

    def __init__(self, columns: list[Expression | F], operator: str, values: list[Value]) -> None:
        if operator not in {">", "<"}:
            raise ValueError(f"RowCompare: unsupported operator {operator!r}")
        if len(columns) != len(values):
            raise ValueError("RowCompare: as many values as columns are needed")
        self.operator = operator
        super().__init__(*columns, *values)

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        half = len(parts) // 2
        return f"({', '.join(parts[:half])}) {self.operator} ({', '.join(parts[half:])})", params
