"""DRF glue for :mod:`customers.keyset`: query parameters, links, OpenAPI description."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.utils.encoding import escape_uri_path
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination, Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from customers.cursors import INVALID_CURSOR, cursor_decode, cursor_encode
from customers.keyset import KeysetError, Ordering, keyset_page, ordering_parse

INVALID_PAGE_SIZE = "Enter a whole number from 1 to {maximum}."


def page_size_parse(*, raw: str | None, default: int, maximum: int, param: str) -> int:
    """``page_size`` as given, or ``default`` when absent; a 400 unless a whole number from 1 to ``maximum``.

    Above the maximum is an error too, not silently lowered: a client asking for
    500 rows and getting 200 would take the short page for the end of a window.
    """
    if raw is None or raw == "":
        return default
    size = int(raw) if raw.isascii() and raw.isdigit() else 0
    if not 1 <= size <= maximum:
        raise ValidationError({param: [INVALID_PAGE_SIZE.format(maximum=maximum)]})
    return size


class ValidatedPageSize:
    """For DRF's paginators: ``page_size`` checked by :func:`page_size_parse` (DRF ignores a bad one)."""

    page_size: int | None
    max_page_size: int | None
    page_size_query_param: str | None

    def get_page_size(self, request: Request) -> int | None:
        if not self.page_size_query_param or self.max_page_size is None or self.page_size is None:
            return self.page_size
        return page_size_parse(
            raw=request.query_params.get(self.page_size_query_param),
            default=self.page_size,
            maximum=self.max_page_size,
            param=self.page_size_query_param,
        )


class KeysetPagination(BasePagination):
    """Exact cursor pagination over ``(ordering field, id)``; it also owns ``ordering``.

    ``{"next": url|null, "previous": url|null, "results": [...]}``. A page is
    one indexed query: no COUNT, no OFFSET. ``page_size`` outside 1 to the
    maximum is a 400 (DRF's own paginators lower it silently).
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    ordering_query_param = "ordering"
    page_size = 20
    max_page_size = 200
    ordering_fields: tuple[str, ...] = ()
    default_ordering = ""

    def __init__(self) -> None:
        self.next_url: str | None = None
        self.previous_url: str | None = None

    def _ordering_fields(self, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "ordering_fields", self.ordering_fields))

    def get_ordering(self, request: Request, view: Any) -> Ordering:
        default = getattr(view, "default_ordering", self.default_ordering)
        value = request.query_params.get(self.ordering_query_param) or default
        return ordering_parse(value=value, allowed=self._ordering_fields(view))

    def get_page_size(self, request: Request) -> int:
        return page_size_parse(
            raw=request.query_params.get(self.page_size_query_param),
            default=self.page_size,
            maximum=self.max_page_size,
            param=self.page_size_query_param,
        )

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        size = self.get_page_size(request)
        try:
            ordering = self.get_ordering(request, view)
            token = request.query_params.get(self.cursor_query_param)
            position = cursor_decode(token=token, ordering=ordering, model=queryset.model) if token else None
        except KeysetError as exc:
            raise ValidationError({exc.param: [exc.message]}) from exc
        rows, more = keyset_page(queryset=queryset, ordering=ordering, position=position, size=size)

        forward = position is None or position.forward
        # Going forward, rows lie behind us iff we came from a cursor (and vice versa).
        has_next = more if forward else position is not None
        has_previous = position is not None if forward else more
        link = _Link(request, self.cursor_query_param)
        self.next_url = self.previous_url = None
        if rows and has_next:
            self.next_url = link.to(cursor_encode(ordering=ordering, row=rows[-1], forward=True))
        if rows and has_previous:
            self.previous_url = link.to(cursor_encode(ordering=ordering, row=rows[0], forward=False))
        elif not rows and position is not None:
            # Everything on the far side was deleted meanwhile: offer the way back to the start.
            self.previous_url = link.to(None)
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.next_url, "previous": self.previous_url, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The following page; null on the last page."},
                "previous": {**link, "description": "The preceding page; null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = self._ordering_fields(view)
        default = getattr(view, "default_ordering", self.default_ordering)
        choices = [name for field in fields for name in (field, f"-{field}")]
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next` or `previous` link. A changed cursor, "
                "or one from another `ordering`, is a 400.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page, 1 to {self.max_page_size} (default "
                f"{self.page_size}); anything else is a 400.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                },
            },
            {
                "name": self.ordering_query_param,
                "required": False,
                "in": "query",
                "description": "One field, `-` for descending; ties are broken by the row id, so "
                "following `next` returns every row exactly once. Unknown fields are a 400.",
                "schema": {"type": "string", "enum": choices, "default": default},
            },
        ]


BIGINT_MAX = 2**63 - 1


class IdCursorPagination(CursorPagination):
    """DRF's cursor pagination over ``id``/``-id``, refusing a forged cursor with a 400.

    DRF's cursors are base64 of ``o=&r=&p=``, unsigned: ``p`` goes into the query
    as it is, so ``p=abc`` used to reach the database and end in a 500. Here the
    position must be an integer in the ``bigint`` range, and any bad cursor is
    ``400 {"cursor": [INVALID_CURSOR]}`` (like the customers list), not DRF's 404.
    """

    ordering = "-id"

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        page = super().paginate_queryset(queryset, request, view)
        # The URL DRF builds its links on, from the parsed query (see _Link): DRF's own, re-read
        # from the Latin-1 request URL, turned a raw UTF-8 filter ("café") into "cafÃ©" in them.
        self.base_url = _Link(request, self.cursor_query_param).to(None)
        return page

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except (NotFound, UnicodeError) as exc:  # UnicodeError: non-ASCII text in the cursor
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from exc
        if cursor is not None and cursor.position is not None:
            text = str(cursor.position)
            if not text.lstrip("-").isdigit() or not text.isascii() or abs(int(text)) > BIGINT_MAX:
                raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
        return cursor


class _Link:
    """The request's URL with one parameter replaced (or removed), as DRF's ``replace_query_param``
    and ``remove_query_param`` build it (parameters sorted, repeated ones kept), from the query
    Django has already parsed. Those re-read the whole URL, cursor included, for every link, and
    from the WSGI URL, which is Latin-1: a parameter sent as raw UTF-8 came back garbled."""

    def __init__(self, request: Request, param: str) -> None:
        self.base = request.build_absolute_uri(escape_uri_path(request.path))
        self.param = param
        self.query = {key: values for key, values in request.query_params.lists() if key != param}

    def to(self, value: str | None) -> str:
        query = self.query if value is None else {**self.query, self.param: [value]}
        return f"{self.base}?{urlencode(sorted(query.items()), doseq=True)}" if query else self.base
