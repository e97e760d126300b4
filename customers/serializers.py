"""Shapes of the API's requests and responses."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from rest_framework import serializers

from customers.models import Customer

WRONG_CREDENTIALS = "Unable to log in with the username and password given."

CUSTOMER_FIELDS = (
    "index",
    "customer_id",
    "first_name",
    "last_name",
    "company",
    "city",
    "country",
    "phone_1",
    "phone_2",
    "email",
    "subscription_date",
    "website",
    "source_file",
    "ingested_at",
)


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS
        read_only_fields = CUSTOMER_FIELDS


class TokenObtainRequestSerializer(serializers.Serializer[None]):
    username = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # authenticate() is None for an inactive user too: same answer, nothing to probe.
        user = authenticate(
            request=self.context.get("request"), username=attrs["username"], password=attrs["password"]
        )
        if user is None:
            raise serializers.ValidationError(WRONG_CREDENTIALS, code="authorization")
        return {"user": user}


class TokenResponseSerializer(serializers.Serializer[None]):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown once.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (UTC).")
