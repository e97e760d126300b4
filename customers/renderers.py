"""JSON responses through orjson: the bytes DRF's ``JSONRenderer`` writes, for a fraction of its cost.

DRF's renderer runs ``json.dumps`` with a Python ``default`` hook; orjson
encodes in C. What could differ is routed back to DRF's own code: datetimes
go through DRF's encoder (``...Z`` for UTC), as do the types orjson does not
know (lazy translations, ``Decimal``, sets, querysets); an indented response
(``Accept: application/json; indent=4``) and anything orjson refuses (an
integer beyond 64 bits, nesting deeper than 254) are rendered by DRF itself.
U+2028 and U+2029 are escaped as DRF does, so the body stays a JavaScript subset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()
_drf_encoder = JSONEncoder()


def _default(value: Any) -> Any:
    return _drf_encoder.default(value)


class OrjsonRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in body or _PARAGRAPH_SEPARATOR in body:
            body = body.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return body


class FirstRendererNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, answered at once when nothing is asked for.

    With no format suffix, no ``format`` parameter and ``Accept`` absent, ``*/*``
    or exactly the first renderer's media type, DRF's own algorithm picks the
    first renderer and its media type; parsing the header is skipped then.
    Anything else (``Accept: text/html``, ``?format=yaml``) goes to DRF.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        first = renderers[0] if renderers else None
        if (
            first is not None
            and not format_suffix
            and request.META.get("HTTP_ACCEPT", "*/*") in ("*/*", first.media_type)
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
