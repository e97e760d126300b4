"""``/api/customers/`` query filters (django-filter). A bad value is a 400 naming the parameter."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request

from customers.models import Customer
from customers.selectors import SEARCH_MIN_LENGTH, SearchTermError, customer_search, search_term_check


def _searchable(value: str) -> None:
    try:
        search_term_check(term=value)
    except SearchTermError as exc:
        raise forms.ValidationError(str(exc)) from exc


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, converted to UTC here.

    PostgreSQL refuses offsets beyond ±15:59 that Python accepts
    (``2026-01-01T00:00+16:44``); in UTC every representable instant is fine.
    """

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed: dt.datetime | None = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


ORIGINAL_NAME = "Original service's name, kept for its clients"


class IngestedDateFilter(django_filters.DateFilter):
    """A date on ``ingested_at``, whole UTC day included (``gte``: from its start, ``lte``: to its end).

    Compared as ``ingested_at >= day 00:00Z`` and ``ingested_at < next day 00:00Z``,
    which the ``(ingested_at, id)`` index answers (a cast to date would not).
    """

    def filter(self, qs: QuerySet[Any], value: dt.date | None) -> QuerySet[Any]:
        if value is None:
            return qs
        if self.lookup_expr == "gte":
            return qs.filter(**{f"{self.field_name}__gte": _day_start(value)})
        try:
            next_day = value + dt.timedelta(days=1)
        except OverflowError:  # 9999-12-31: nothing lies after it
            return qs
        return qs.filter(**{f"{self.field_name}__lt": _day_start(next_day)})


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


class CustomerFilterSet(django_filters.FilterSet):
    # Explicit labels: django-filter otherwise derives one per filter on every request.
    country = django_filters.CharFilter(
        label="country", lookup_expr="iexact", help_text="Country, case-insensitive exact."
    )
    city = django_filters.CharFilter(
        label="city", lookup_expr="iexact", help_text="City, case-insensitive exact."
    )
    company = django_filters.CharFilter(
        label="company", lookup_expr="iexact", help_text="Company, case-insensitive exact."
    )
    customer_id = django_filters.CharFilter(label="customer_id", help_text="Exact customer id.")
    source_file = django_filters.CharFilter(
        label="source_file", help_text="Exact name of the file the row was loaded from."
    )
    subscription_date_after = django_filters.DateFilter(
        label="subscription_date_after",
        field_name="subscription_date",
        lookup_expr="gte",
        help_text="Subscribed on or after this date (YYYY-MM-DD), inclusive.",
    )
    subscription_date_before = django_filters.DateFilter(
        label="subscription_date_before",
        field_name="subscription_date",
        lookup_expr="lte",
        help_text="Subscribed on or before this date (YYYY-MM-DD), inclusive.",
    )
    ingested_after = UtcIsoDateTimeFilter(
        label="ingested_after",
        field_name="ingested_at",
        lookup_expr="gte",
        help_text="Loaded at or after this ISO 8601 timestamp (UTC unless an offset is given).",
    )
    ingested_before = UtcIsoDateTimeFilter(
        label="ingested_before",
        field_name="ingested_at",
        lookup_expr="lte",
        help_text="Loaded at or before this ISO 8601 timestamp (UTC unless an offset is given).",
    )
    start_date = IngestedDateFilter(
        label="start_date",
        field_name="ingested_at",
        lookup_expr="gte",
        help_text=f"{ORIGINAL_NAME}: loaded on or after this date (YYYY-MM-DD, a UTC day), inclusive. "
        "Same rows as `ingested_after=<date>T00:00:00Z`.",
    )
    end_date = IngestedDateFilter(
        label="end_date",
        field_name="ingested_at",
        lookup_expr="lte",
        help_text=f"{ORIGINAL_NAME}: loaded on or before this date (YYYY-MM-DD, a UTC day), inclusive "
        "of the whole day. Same rows as `ingested_before=<date>T23:59:59.999999Z`.",
    )
    search = django_filters.CharFilter(
        label="search",
        method="filter_search",
        help_text="Case-insensitive substring of first_name, last_name, email, company, city or "
        f"country; at least {SEARCH_MIN_LENGTH} characters.",
        validators=[_searchable],
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return customer_search(queryset=queryset, term=value)


class PrebuiltFilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus building a FilterSet and a form class on every request.

    ``DjangoFilterBackend`` deep-copies every filter, builds a form class with
    ``type()`` and a form per request: a millisecond before the query even for
    a request without filters. Here each FilterSet class is built once
    (:func:`_prebuilt`) and only the parameters present are cleaned, by the
    very filters and form fields django-filter would use, then applied in
    declaration order. Same rows, same 400 body (each bad parameter named).

    A FilterSet used with it must keep no request state: a ``method=`` filter
    gets the prebuilt instance (``self.request`` is None), and a form-level
    ``clean()`` is not run. drf-spectacular documents it as django-filter's.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        return filterset_apply(
            filterset_class=filterset_class, params=request.query_params, queryset=queryset
        )


@functools.cache
def _prebuilt(filterset_class: Any) -> django_filters.FilterSet:
    prebuilt = filterset_class(queryset=filterset_class._meta.model._default_manager.none())
    for filter_ in prebuilt.filters.values():
        filter_.field  # noqa: B018  (builds and caches the form field now, not on a first request)
    return prebuilt


def filterset_apply(*, filterset_class: Any, params: QueryDict, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` filtered by the parameters of ``params`` that ``filterset_class`` declares; 400 if bad."""
    prebuilt = _prebuilt(filterset_class)
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[ErrorDetail]] = {}
    for name, filter_ in prebuilt.filters.items():
        field = filter_.field
        if not any(key in params for key in _query_names(name, field)):
            continue
        try:
            cleaned[name] = field.clean(field.widget.value_from_datadict(params, {}, name))
        except forms.ValidationError as exc:  # as django-filter words it: message and code kept
            errors[name] = [ErrorDetail(e.message % (e.params or ()), code=e.code) for e in exc.error_list]
    if errors:
        raise serializers.ValidationError(errors)
    for name, value in cleaned.items():
        queryset = prebuilt.filters[name].filter(queryset, value)
    return queryset


def _query_names(name: str, field: forms.Field) -> tuple[str, ...]:
    suffixes = getattr(field.widget, "suffixes", None)  # a range widget reads name_min, name_max ...
    return tuple(f"{name}_{suffix}" if suffix else name for suffix in suffixes) if suffixes else (name,)
