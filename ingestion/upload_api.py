"""``POST /api/ingestions/``: upload a CSV or JSON file to ingest (issue #15).

Who: a token whose user holds ``etl.upload_file`` (role ``uploaders``, which can also
read the runs; superusers hold it). The body is ``multipart/form-data``: ``file``, and
optionally ``dry_run``, ``warn_above`` and ``reject_above`` with the ingest command's
meaning. The answer is ``202`` with the ``queued`` run and ``Location`` to
``/api/ingestion-runs/{id}/``, where the status goes on to ``running`` and its end.

The body is streamed to a temporary file, counted as it comes: past ``UPLOAD_MAX_BYTES``
the request ends with a 413, whatever it declared and without reading the rest.
A malformed body, a missing or empty file, a bad name or option: a 400 with one line.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import text_line
from customers.permissions import UPLOAD_FILE, CanUploadFiles
from customers.query_params import REPEATED_PARAMETER, StrictQueryParams
from dataflow.quality.batch import quality_setup
from dataflow.schema import load_schema
from ingestion.api import IngestionRunSerializer
from ingestion.uploads import TOO_LARGE, UploadError, UploadOptions, UploadTooLarge, accept_upload

log = structlog.get_logger("etl.uploads")

MULTIPART_OVERHEAD = 64 << 10
"""Bytes a request may carry beyond the file itself (boundaries, headers, the option fields)."""
FIELDS = ("file", "dry_run", "warn_above", "reject_above")
UNKNOWN_FIELD = "Unknown field; this endpoint accepts: {fields}."
ONE_FILE = "Send one file per request."


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class CountingUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler (never the whole body in memory), stopped at the limit."""

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, *args: Any, **kwargs: Any
    ) -> None:
        if content_length > settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD:  # said too big: nothing is read
            raise PayloadTooLarge(TOO_LARGE.format(limit=settings.UPLOAD_MAX_BYTES))
        super().handle_raw_input(input_data, META, content_length, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > settings.UPLOAD_MAX_BYTES:
            raise PayloadTooLarge(TOO_LARGE.format(limit=settings.UPLOAD_MAX_BYTES))
        return super().receive_data_chunk(raw_data, start)


@extend_schema_field(OpenApiTypes.BINARY)
class BinaryFileField(serializers.FileField):
    """A file field the schema shows as binary (Swagger's try-it then offers a file picker)."""


_DEFAULTS = quality_setup(schema=load_schema()).thresholds


def _percent_schema(example: float) -> dict[str, Any]:
    """An optional percentage whose example is the schema's own value: Swagger's try-it sends the
    example when the field is left alone (a bare number field would send 0, rejecting a file for
    one bad record)."""
    return {"type": "number", "format": "double", "nullable": True, "example": example}


@extend_schema_field(_percent_schema(_DEFAULTS.warn_above))
class WarnAboveField(serializers.FloatField):
    pass


@extend_schema_field(_percent_schema(_DEFAULTS.reject_above))
class RejectAboveField(serializers.FloatField):
    pass


class UploadRequestSerializer(serializers.Serializer[Any]):
    file = BinaryFileField(help_text="The partner file: a name ending in .csv or .json.")
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Read, check and report; change no customer."
    )
    warn_above = WarnAboveField(
        required=False,
        allow_null=True,
        help_text="Percent of invalid records above which the run warns and alerts "
        f"(default {_DEFAULTS.warn_above:g}).",
    )
    reject_above = RejectAboveField(
        required=False,
        allow_null=True,
        help_text="Percent of invalid records above which the file is rejected "
        f"(default {_DEFAULTS.reject_above:g}).",
    )


def _fields_check(request: Request) -> None:
    """An unknown form field, more than one file or an option given twice is a 400 (a misspelt
    option would go unheard; of ``dry_run=true`` and ``dry_run=false``, one would be dropped)."""
    unknown = sorted({*request.data.keys(), *request.FILES.keys()} - set(FIELDS))
    if unknown:
        raise ValidationError({name: [UNKNOWN_FIELD.format(fields=", ".join(FIELDS))] for name in unknown})
    if len(request.FILES.getlist("file")) > 1:
        raise ValidationError({"file": [ONE_FILE]})
    repeated = {name: len(values) for name, values in request.POST.lists() if len(values) > 1}
    if repeated:
        raise ValidationError(
            {name: [REPEATED_PARAMETER.format(count=n)] for name, n in sorted(repeated.items())}
        )


def _reason(response: Response) -> str:
    """The first message of an error response, for the log."""
    data: Any = response.data
    while isinstance(data, dict | list) and data:
        data = next(iter(data.values())) if isinstance(data, dict) else data[0]
    return text_line(str(data))


class IngestionUploadView(StrictQueryParams, APIView):
    permission_classes: tuple[type[BasePermission], ...] = (CanUploadFiles,)
    parser_classes = (MultiPartParser,)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if 400 <= response.status_code < 500:  # a refusal is on the record: who, what status, why
            user = getattr(self.request, "_user", None)
            who = user.get_username() if user is not None and user.is_authenticated else ""
            log.warning("upload.refused", user=who, status=response.status_code, problem=_reason(response))
        return response

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        request.upload_handlers = [CountingUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a file to ingest",
        description=f"Needs `{UPLOAD_FILE}` (role `uploaders`). Answers 202 with the queued run; "
        "follow `Location` (`GET /api/ingestion-runs/{id}/`) until its status is no longer "
        "`queued` or `running`. The same bytes as a loaded file give a `skipped` run naming it. "
        "Beyond `UPLOAD_MAX_BYTES`: 413.",
        request={"multipart/form-data": UploadRequestSerializer},
        responses={
            202: IngestionRunSerializer,
            400: OpenApiResponse(description="Malformed body, missing or empty file, bad name or option."),
            401: OpenApiResponse(description="No valid token."),
            403: OpenApiResponse(description=f"The token's user lacks `{UPLOAD_FILE}`."),
            413: OpenApiResponse(description="The file is larger than `UPLOAD_MAX_BYTES`."),
        },
    )
    def post(self, request: Request) -> Response:
        _fields_check(request)
        form = UploadRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        options = UploadOptions(
            dry_run=data["dry_run"], warn_above=data.get("warn_above"), reject_above=data.get("reject_above")
        )
        try:
            run = accept_upload(data["file"], options=options, user=request.user)
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc
        except UploadError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        body = IngestionRunSerializer(run, context={"request": request}).data
        location = reverse("ingestionrun-detail", kwargs={"pk": run.pk})
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
