"""No silently ignored query parameters: an unknown one is a 400 naming it and the accepted ones;
an accepted one given twice or with an empty value is a 400 naming it too.

A misspelled filter (``?countyr=Chile``) or another service's name for one
(``?start_date=``) used to answer 200 with every row: the client got unfiltered
data and no error. Every API view mixes in :class:`StrictQueryParams`; a test
walks the URL configuration to keep it so.

What a view accepts is derived from what it honours, once per view class and
action: a list takes its filterset's parameters and its paginator's
(``cursor``, ``page_size``, ``ordering``); any other action takes only the names
it declares in ``extra_query_params`` (an ``@action`` passes them as a keyword).
DRF's ``format`` is honoured by every view (content negotiation) and accepted
everywhere. ``API_IGNORED_QUERY_PARAMS`` names parameters accepted and ignored
everywhere (cache-busting ``_=<timestamp>``); ``*`` there turns the check off.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.http import QueryDict
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings

UNKNOWN_PARAMETER = "Unknown parameter; this endpoint accepts: {accepted}."
REPEATED_PARAMETER = "Give this parameter once (it was given {count} times)."
EMPTY_PARAMETER = "Empty value: give one, or leave the parameter out."
EMPTY_MEANS_ALL = frozenset({"search"})
"""Parameters whose empty value is a value: every text contains the empty string."""
ANY_PARAMETER = "*"

# Query-parameter attributes of DRF's paginators and ours, in the order they are listed.
_PAGINATOR_ATTRIBUTES = (
    "ordering_query_param",
    "page_query_param",
    "cursor_query_param",
    "page_size_query_param",
    "limit_query_param",
    "offset_query_param",
)


def filterset_query_params(filterset_class: Any) -> tuple[str, ...]:
    """The names a django-filter ``FilterSet`` reads (a range widget reads ``<name>_<suffix>``)."""
    if filterset_class is None:
        return ()
    names: list[str] = []
    for name, filter_ in filterset_class.base_filters.items():
        widget = filter_.extra.get("widget") or filter_.field_class.widget
        suffixes = getattr(widget, "suffixes", None)
        names.extend(f"{name}_{suffix}" if suffix else name for suffix in suffixes or [""])
    return tuple(names)


def pagination_query_params(pagination_class: Any) -> tuple[str, ...]:
    """The names a paginator reads, e.g. ``("cursor", "page_size")``."""
    if pagination_class is None:
        return ()
    found = (getattr(pagination_class, attribute, None) for attribute in _PAGINATOR_ATTRIBUTES)
    return tuple(name for name in found if name)


@functools.cache
def view_query_params(view_class: type, action: str | None, extra: tuple[str, ...]) -> tuple[str, ...]:
    """What one view class accepts for one action (``None`` for a plain APIView), documented order."""
    names: list[str] = []
    if action in (None, "list"):
        names += filterset_query_params(getattr(view_class, "filterset_class", None))
        names += pagination_query_params(getattr(view_class, "pagination_class", None))
    names += extra
    if api_settings.URL_FORMAT_OVERRIDE:
        names.append(api_settings.URL_FORMAT_OVERRIDE)
    return tuple(dict.fromkeys(names))


def query_params_check(*, params: QueryDict, accepted: tuple[str, ...]) -> None:
    """A 400 naming each unknown parameter, and each accepted one given more than once or empty
    (``?country=`` would filter nothing: every row, as if it were misspelled)."""
    if not params:
        return
    ignored = settings.API_IGNORED_QUERY_PARAMS
    check_unknown = ANY_PARAMETER not in ignored
    errors: dict[str, list[str]] = {}
    for name, values in params.lists():
        if name in accepted:
            if len(values) > 1:  # a filter would read one of them and drop the others unseen
                errors[name] = [REPEATED_PARAMETER.format(count=len(values))]
            elif not values[0] and name not in EMPTY_MEANS_ALL:
                errors[name] = [EMPTY_PARAMETER]
        elif check_unknown and name not in ignored:
            errors[name] = [UNKNOWN_PARAMETER.format(accepted=", ".join(accepted))]
    if errors:
        raise ValidationError(errors)


class StrictQueryParams:
    """Mixin for API views: after authentication, permissions and throttling, refuse unknown parameters.

    Checked after them so an anonymous or throttled client gets its 401 or 429 first.
    """

    extra_query_params: tuple[str, ...] = ()

    def accepted_query_params(self) -> tuple[str, ...]:
        view_class: Any = type(self)  # a class is hashable; mypy's Hashable protocol disagrees
        return view_query_params(view_class, getattr(self, "action", None), tuple(self.extra_query_params))

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        try:
            query_params_check(params=request.query_params, accepted=self.accepted_query_params())
        except ValidationError:
            errors_as_json(request)  # for a view whose own errors are not JSON already
            raise


def errors_as_json(request: Request) -> None:
    """The coming error in the API's JSON even where the view renders YAML (schema) or HTML (docs)."""
    renderer_class: Any = api_settings.DEFAULT_RENDERER_CLASSES[0]  # a class once DRF imported it
    renderer = renderer_class()
    request.accepted_renderer, request.accepted_media_type = renderer, renderer.media_type
