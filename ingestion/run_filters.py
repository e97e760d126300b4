"""``/api/ingestion-runs/`` query filters for operators (django-filter). A bad value is a 400 naming it."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

from customers.filters import UtcIsoDateTimeFilter
from ingestion.models import IngestionRun, RunStatus

INVALID_BOOLEAN = "Enter true or false."
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``, any case); anything else is an error.

    django-filter's boolean widgets turn an unknown value into "no filter", which
    would answer ``?dry_run=yes`` with every run.
    """

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        try:
            return _BOOLEANS[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError(INVALID_BOOLEAN, code="invalid") from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class IngestionRunFilterSet(django_filters.FilterSet):
    # Explicit labels: django-filter otherwise derives one per filter on every request.
    status = django_filters.ChoiceFilter(
        label="status", choices=RunStatus.choices, help_text="Outcome of the run."
    )
    source = django_filters.CharFilter(
        label="source", help_text="Where the file came from, exact: `local`, `sftp`, `s3`, `upload`."
    )
    filename = django_filters.CharFilter(label="filename", help_text="Exact file name.")
    filename_prefix = django_filters.CharFilter(
        label="filename_prefix",
        field_name="filename",
        lookup_expr="startswith",
        help_text="File names starting with this text (case-sensitive; `%` and `_` are literal).",
    )
    started_after = UtcIsoDateTimeFilter(
        label="started_after",
        field_name="started_at",
        lookup_expr="gte",
        help_text="Started at or after this ISO 8601 timestamp (UTC unless an offset is given).",
    )
    started_before = UtcIsoDateTimeFilter(
        label="started_before",
        field_name="started_at",
        lookup_expr="lte",
        help_text="Started at or before this ISO 8601 timestamp (UTC unless an offset is given).",
    )
    dry_run = StrictBooleanFilter(
        label="dry_run", help_text="`true`: only dry runs (nothing loaded); `false`: only real ones."
    )

    class Meta:
        model = IngestionRun
        fields: list[str] = []
