"""Read-only API of the audit log: runs, and each run's quarantined records (filter by rule).

Token-authenticated and throttled by the project defaults; cursor-paginated
(stable while new runs arrive). Every run for staff or ``etl.view_ingestionrun``; the
runs of one's own uploads for ``etl.view_own_ingestionrun`` (role ``uploaders``: another's
run is a 404, as if it did not exist); partner
values (quarantined records' raw text and messages, the report's examples) only
with ``etl.view_quarantinedrecord``; server paths in errors for staff only
(``customers.permissions``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from customers.api_errors import THROTTLED, UNAUTHORIZED, VALIDATION_ERROR, forbidden, not_found
from customers.filters import PrebuiltFilterBackend
from customers.pagination import IdCursorPagination, ValidatedPageSize
from customers.permissions import (
    CanViewRuns,
    can_view_every_run,
    can_view_partner_values,
    report_without_values,
    without_server_paths,
)
from customers.query_params import StrictQueryParams, pagination_query_params
from ingestion.models import IngestionRun, QuarantinedRecord
from ingestion.run_filters import IngestionRunFilterSet
from ingestion.selectors import runs_visible

RULE_PARAMETER = OpenApiParameter(
    "rule",
    OpenApiTypes.STR,
    description="Only records that failed this rule code, e.g. `email.pattern`.",
)


RULE_CODE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
UNKNOWN_RULE = "Enter a rule code such as email.pattern (lower-case letters, digits, '_' and '.')."


def rule_param(request: Request) -> str | None:
    """The ``rule`` filter, if any; a value no rule code can have is a 400 (it never reaches SQL)."""
    rule = request.query_params.get("rule") or None
    if rule is not None and (len(rule) > 100 or not RULE_CODE.fullmatch(rule)):
        raise ValidationError({"rule": [UNKNOWN_RULE]})
    return rule


class RunPagination(ValidatedPageSize, IdCursorPagination):
    ordering = "-id"
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class QuarantinePagination(ValidatedPageSize, IdCursorPagination):
    """``page_size`` records, or fewer when they hold more than ``QUARANTINE_PAGE_MAX_BYTES``
    (always at least one): a page of large records stays small; ``next`` goes on after it."""

    ordering = "id"
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        page = super().paginate_queryset(queryset, request, view)
        if not page:
            return page
        budget, kept = settings.QUARANTINE_PAGE_MAX_BYTES, 0
        for record in page:
            budget -= record_bytes(record)
            if budget < 0 and kept:
                break
            kept += 1
        if kept < len(page):
            # The next link starts after the last record shown (DRF: the position following the page).
            self.next_position = self._get_position_from_instance(page[kept], self.ordering)
            self.page = page = page[:kept]
            self.has_next = True
        return page


def record_bytes(record: QuarantinedRecord) -> int:
    """About what ``record`` weighs in a page (its partner text dominates)."""
    raw = 0 if record.raw is None else len(json.dumps(record.raw, ensure_ascii=False).encode())
    text = len(record.raw_text.encode()) + sum(len(str(m).encode()) for m in record.messages)
    return raw + text + 200


QUARANTINE_PARAMETERS = [
    RULE_PARAMETER,
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, description="Opaque position from a `next` or `previous` link."
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        description=f"Records per page, 1 to {QuarantinePagination.max_page_size} "
        f"(default {QuarantinePagination.page_size}); anything else is a 400.",
    ),
]


def _user(serializer: serializers.BaseSerializer[Any]) -> Any:
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class IngestionRunSerializer(serializers.ModelSerializer[IngestionRun]):
    def to_representation(self, instance: IngestionRun) -> dict[str, Any]:
        data = super().to_representation(instance)
        user = _user(self)
        if not (user and user.is_staff):
            data["error_message"] = without_server_paths(data["error_message"])
            data["warnings"] = [without_server_paths(str(w)) for w in data["warnings"]]
        if "report" in data and not can_view_partner_values(user):
            data["report"] = report_without_values(data["report"])
        return data

    class Meta:
        model = IngestionRun
        fields = [
            "id",
            "source",
            "filename",
            "sha256",
            "size",
            "status",
            "dry_run",
            "forced",
            "queued_at",
            "started_at",
            "finished_at",
            "requested_by",
            "rows_read",
            "rows_loaded",
            "rows_inserted",
            "rows_updated",
            "rows_unchanged",
            "rows_duplicates",
            "rows_quarantined",
            "error_message",
            "warnings",
        ]
        read_only_fields = fields


class IngestionRunDetailSerializer(IngestionRunSerializer):
    class Meta(IngestionRunSerializer.Meta):
        fields = [*IngestionRunSerializer.Meta.fields, "report"]
        read_only_fields = fields


class QuarantinedRecordSerializer(serializers.ModelSerializer[QuarantinedRecord]):
    """Without ``etl.view_quarantinedrecord``: line and rule codes only (``raw`` null, ``raw_text``
    and ``messages`` empty): the values are the partner's personal data."""

    def to_representation(self, instance: QuarantinedRecord) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not can_view_partner_values(_user(self)):
            data.update(raw=None, raw_text="", messages=[])
        return data

    class Meta:
        model = QuarantinedRecord
        fields = [
            "id",
            "line_number",
            "rule_codes",
            "messages",
            "raw",
            "raw_text",
            "raw_truncated",
            "raw_size",
            "raw_sha256",
            "created_at",
        ]
        read_only_fields = fields


def quarantine_of_run(*, run: IngestionRun, rule: str | None = None) -> QuerySet[QuarantinedRecord]:
    """The run's quarantined records, optionally only those that failed ``rule``."""
    records = QuarantinedRecord.objects.filter(run=run)
    return records.filter(rule_codes__contains=[rule]) if rule else records


_RUNS_FORBIDDEN = forbidden(
    "`etl.view_ingestionrun` (staff, or role `operators`), or `etl.view_own_ingestionrun` "
    "(role `uploaders`: the runs of the caller's own uploads only)"
)
_RUN_ERRORS = {401: UNAUTHORIZED, 403: _RUNS_FORBIDDEN, 404: not_found("run"), 429: THROTTLED}


@extend_schema_view(
    list=extend_schema(
        summary="List ingestion runs",
        description="Newest first; filter by status, source, file name, start time, dry run. "
        "Role `uploaders` sees the runs of its own uploads only.",
        responses={
            200: IngestionRunSerializer(many=True),
            400: VALIDATION_ERROR,
            401: UNAUTHORIZED,
            403: _RUNS_FORBIDDEN,
            429: THROTTLED,
        },
    ),
    retrieve=extend_schema(
        summary="One ingestion run, with its report (quality, outliers, timings)",
        responses={200: IngestionRunDetailSerializer, 400: VALIDATION_ERROR, **_RUN_ERRORS},
    ),
)
class IngestionRunViewSet(StrictQueryParams, viewsets.ReadOnlyModelViewSet[IngestionRun]):
    queryset = IngestionRun.objects.all()
    permission_classes = (CanViewRuns,)
    pagination_class = RunPagination
    filter_backends = [PrebuiltFilterBackend]
    filterset_class = IngestionRunFilterSet

    def get_queryset(self) -> QuerySet[IngestionRun]:
        user = self.request.user
        joined = getattr(user, "date_joined", None)
        return runs_visible(every=can_view_every_run(user), username=user.get_username(), joined=joined)

    def get_serializer_class(self) -> Any:
        return IngestionRunDetailSerializer if self.action == "retrieve" else IngestionRunSerializer

    @extend_schema(
        summary="The run's quarantined records",
        parameters=QUARANTINE_PARAMETERS,
        responses={
            200: inline_serializer(
                name="QuarantinePage",
                fields={
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": QuarantinedRecordSerializer(many=True),
                },
            ),
            400: VALIDATION_ERROR,
            **_RUN_ERRORS,
        },
    )
    @action(
        detail=True,
        url_path="quarantine",
        extra_query_params=("rule", *pagination_query_params(QuarantinePagination)),
    )
    def quarantine(self, request: Request, pk: str | None = None) -> Response:
        records = quarantine_of_run(run=self.get_object(), rule=rule_param(request))
        paginator = QuarantinePagination()
        page = paginator.paginate_queryset(records, request, view=self)
        data = QuarantinedRecordSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)
