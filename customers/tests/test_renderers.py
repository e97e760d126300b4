"""The orjson renderer writes the bytes DRF's JSONRenderer writes; negotiation picks what DRF picks."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest
from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from rest_framework.exceptions import ErrorDetail, NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from customers.renderers import FirstRendererNegotiation, OrjsonRenderer

_SERIALIZER: Any = None  # ReturnList/ReturnDict only keep a reference to it

PAYLOAD: dict[str, Any] = {
    "next": "http://testserver/api/customers/?cursor=abc%3A1&page_size=2",
    "previous": None,
    "results": ReturnList(
        [
            {"first_name": "Chloé", "city": "Zürich 🏔", "index": 7, "ratio": 0.1, "ok": True},
            {"note": "line\u2028para\u2029end", "quote": 'a "b" \\ c', "tab": "\t\n\x01"},
        ],
        serializer=_SERIALIZER,
    ),
    "when": dt.datetime(2026, 1, 15, 9, 30, 0, 123456, tzinfo=dt.UTC),
    "there": dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    "naive": dt.datetime(2026, 1, 15, 9, 30),
    "day": dt.date(2021, 2, 28),
    "amount": decimal.Decimal("1.50"),
    "lazy": gettext_lazy("Not found."),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "error": ReturnDict(
        {"page_size": [ErrorDetail("Enter a whole number.", code="invalid")]}, serializer=_SERIALIZER
    ),
    "keys": {1: "one", 2: "two"},
    "pair": (1, 2),
    "single": {"only"},
    "empty": {},
}


def test_renders_the_same_bytes_as_drf() -> None:
    assert OrjsonRenderer().render(PAYLOAD) == JSONRenderer().render(PAYLOAD)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("data", [{"n": 2**70}, [{"a": [-(2**64)]}], {"deep": _nested(300)}])
def test_what_orjson_refuses_is_rendered_by_drf(data: Any) -> None:
    assert OrjsonRenderer().render(data) == JSONRenderer().render(data)


def test_an_indented_response_is_rendered_as_drf_does() -> None:
    media_type = "application/json; indent=2"
    assert OrjsonRenderer().render(PAYLOAD, media_type) == JSONRenderer().render(PAYLOAD, media_type)
    assert b"\n  " in OrjsonRenderer().render(PAYLOAD, media_type)


def test_no_data_is_an_empty_body() -> None:
    assert OrjsonRenderer().render(None) == b""


def test_the_api_answers_through_it(api: APIClient) -> None:
    response = api.get("/api/customers/")
    assert isinstance(response.accepted_renderer, OrjsonRenderer)
    assert response["Content-Type"] == "application/json"


RENDERER_LISTS = [
    [OrjsonRenderer()],
    [OpenApiYamlRenderer(), OpenApiYamlRenderer2(), OpenApiJsonRenderer(), OpenApiJsonRenderer2()],
]
ACCEPT_HEADERS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/vnd.oai.openapi+json",
    "text/html",
    "text/html, */*;q=0.1",
    "",
]


@pytest.mark.parametrize("renderers", RENDERER_LISTS, ids=["api", "schema"])
@pytest.mark.parametrize("accept", ACCEPT_HEADERS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=yaml", "?format=xml"])
def test_negotiation_picks_what_drf_picks(renderers: list[Any], accept: str | None, query: str) -> None:
    headers: dict[str, Any] = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/customers/{query}", None, **headers))

    def outcome(negotiation: Any) -> Any:
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except (NotAcceptable, Http404) as exc:
            return type(exc)
        return type(renderer), media_type

    assert outcome(FirstRendererNegotiation()) == outcome(DefaultContentNegotiation())
