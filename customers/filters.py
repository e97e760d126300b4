"""``/api/customers/`` query filters (django-filter). A bad value is a 400 naming the parameter."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet

from customers.models import Customer
from customers.selectors import SearchTermError, customer_search, search_term_check


def _searchable(value: str) -> None:
    try:
        search_term_check(term=value)
    except SearchTermError as exc:
        raise forms.ValidationError(str(exc)) from exc


class CustomerFilterSet(django_filters.FilterSet):
    country = django_filters.CharFilter(lookup_expr="iexact", help_text="Country, case-insensitive exact.")
    city = django_filters.CharFilter(lookup_expr="iexact", help_text="City, case-insensitive exact.")
    company = django_filters.CharFilter(lookup_expr="iexact", help_text="Company, case-insensitive exact.")
    customer_id = django_filters.CharFilter(help_text="Exact customer id.")
    source_file = django_filters.CharFilter(help_text="Exact name of the file the row was loaded from.")
    subscription_date_after = django_filters.DateFilter(
        field_name="subscription_date",
        lookup_expr="gte",
        help_text="Subscribed on or after this date (YYYY-MM-DD), inclusive.",
    )
    subscription_date_before = django_filters.DateFilter(
        field_name="subscription_date",
        lookup_expr="lte",
        help_text="Subscribed on or before this date (YYYY-MM-DD), inclusive.",
    )
    ingested_after = django_filters.IsoDateTimeFilter(
        field_name="ingested_at",
        lookup_expr="gte",
        help_text="Loaded at or after this ISO 8601 timestamp (UTC unless an offset is given).",
    )
    ingested_before = django_filters.IsoDateTimeFilter(
        field_name="ingested_at",
        lookup_expr="lte",
        help_text="Loaded at or before this ISO 8601 timestamp (UTC unless an offset is given).",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Case-insensitive substring of first_name, last_name, email, company, city or country.",
        validators=[_searchable],
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return customer_search(queryset=queryset, term=value)
