"""Shapes of the API's requests and responses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import Throttled

from customers.models import Customer

WRONG_CREDENTIALS = "Unable to log in with the username and password given."
LOCKED_OUT = "Too many failed logins from this address; try again in {minutes} minutes."
UNKNOWN_FIELD = "Unknown field; this endpoint takes: {fields}."

# The API shows every field the schema declares (dataflow/schemas/customers.yaml), in its order,
# plus where and when each record was loaded: the model's columns, which a system check
# (ingestion/checks.py) holds to the declaration.
CUSTOMER_FIELDS: tuple[str, ...] = Customer.field_names()
# The only values that are not JSON already: dates and timestamps.
_TEMPORAL_FIELDS: tuple[str, ...] = tuple(
    name
    for name in CUSTOMER_FIELDS
    if isinstance(Customer._meta.get_field(name), models.DateField)  # DateTimeField is one too
)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    """The declared fields document the shape (OpenAPI); rows are rendered directly.

    DRF builds 14 field objects per serializer and calls each per row; on a
    200-row page that was most of the request's CPU. The output is the same
    (a test compares it with DRF's own rendering). A row is a ``Customer`` or,
    for a list, a ``values()`` dict (no model instance built per row).
    """

    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS
        read_only_fields = CUSTOMER_FIELDS

    def to_representation(self, instance: Customer | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(instance, Mapping):
            row = {name: instance[name] for name in CUSTOMER_FIELDS}
        else:
            row = {name: getattr(instance, name) for name in CUSTOMER_FIELDS}
        for name in _TEMPORAL_FIELDS:
            row[name] = _json_value(row[name])
        return row


def customer_rows_json(rows: list[Any]) -> list[dict[str, Any]]:
    """A list page's rows as :class:`CustomerSerializer` renders them, without its machinery per page.

    ``values("pk", *CUSTOMER_FIELDS)`` dicts (what a list page reads, the
    paginator done with them) are turned into the response's rows in place:
    ``pk`` dropped, dates and timestamps as text; the keys are then already in
    the declared order. Anything else goes through the serializer.
    """
    if not all(isinstance(row, dict) and next(iter(row), None) == "pk" for row in rows):
        return list(CustomerSerializer(rows, many=True).data)
    for row in rows:
        del row["pk"]
        for name in _TEMPORAL_FIELDS:
            row[name] = _json_value(row[name])
    return rows


class TokenObtainRequestSerializer(serializers.Serializer[None]):
    username = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})

    def to_internal_value(self, data: Any) -> Any:
        # A field the endpoint does not know is a 400 naming it, before any password is checked.
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: [UNKNOWN_FIELD.format(fields=", ".join(self.fields))] for name in unknown}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # authenticate() is None for an inactive user too: same answer, nothing to probe.
        request = self.context.get("request")
        user = authenticate(request=request, username=attrs["username"], password=attrs["password"])
        if getattr(request, "axes_locked_out", False):  # django-axes: the admin login's lockout too
            cooloff = settings.AXES_COOLOFF_TIME
            raise Throttled(
                wait=cooloff.total_seconds(),
                detail=LOCKED_OUT.format(minutes=int(cooloff.total_seconds() // 60)),
            )
        if user is None:
            raise serializers.ValidationError(WRONG_CREDENTIALS, code="authorization")
        return {"user": user}


class TokenResponseSerializer(serializers.Serializer[None]):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown once.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (UTC).")
