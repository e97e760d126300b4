"""The API's error answers as the OpenAPI schema documents them, shared by every endpoint."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    name="Error",
    fields={"detail": serializers.CharField()},
)
PARAMETER_ERRORS = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
VALIDATION_ERROR = OpenApiResponse(
    description="A bad parameter: the body maps each bad parameter's name to its messages, "
    'e.g. `{"subscription_date_after": ["Enter a valid date."]}`.',
    response=PARAMETER_ERRORS,
)
UNAUTHORIZED = OpenApiResponse(
    description="Missing, wrong or expired token, or inactive user.", response=ERROR
)
THROTTLED = OpenApiResponse(description="Too many requests; see the `Retry-After` header.", response=ERROR)


def forbidden(needs: str) -> OpenApiResponse:
    """A 403: the token's user lacks ``needs`` (a permission and the role holding it)."""
    return OpenApiResponse(description=f"The user lacks {needs}.", response=ERROR)


def not_found(what: str) -> OpenApiResponse:
    return OpenApiResponse(description=f"No such {what}.", response=ERROR)
