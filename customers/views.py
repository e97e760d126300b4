"""Thin API views: parse the request, call a selector or service, shape the answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from knox.models import AuthToken
from knox.views import LoginView, LogoutAllView, LogoutView
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from customers.api_errors import (
    PARAMETER_ERRORS,
    THROTTLED,
    UNAUTHORIZED,
    VALIDATION_ERROR,
    forbidden,
    not_found,
)
from customers.auth import ApiTokenAuthentication, CachedTokenViewMixin
from customers.filters import CustomerFilterSet, PrebuiltFilterBackend
from customers.models import KEYSET_ORDERING_FIELDS, Customer
from customers.pagination import KeysetPagination
from customers.permissions import CanViewCustomers
from customers.query_params import StrictQueryParams, errors_as_json
from customers.selectors import customer_list
from customers.serializers import (
    CUSTOMER_FIELDS,
    CustomerSerializer,
    TokenObtainRequestSerializer,
    TokenResponseSerializer,
    customer_rows_json,
)
from customers.services import api_token_issue
from customers.throttles import ApiAnonThrottle, TokenObtainThrottle

ORDERING_FIELDS = KEYSET_ORDERING_FIELDS
DEFAULT_ORDERING = "-ingested_at"

_forbidden = forbidden("`customers.view_customer` (role `customers`)")


@extend_schema_view(
    list=extend_schema(
        summary="List customers",
        description="Filter, search, order and page through customers. Follow `next` to the end to "
        "get every matching row exactly once.",
        responses={
            200: CustomerSerializer(many=True),
            400: VALIDATION_ERROR,
            401: UNAUTHORIZED,
            403: _forbidden,
            429: THROTTLED,
        },
    ),
    retrieve=extend_schema(
        summary="One customer by customer_id",
        responses={
            200: CustomerSerializer,
            401: UNAUTHORIZED,
            403: _forbidden,
            404: not_found("customer"),
            429: THROTTLED,
        },
    ),
)
class CustomerViewSet(StrictQueryParams, CachedTokenViewMixin, viewsets.ReadOnlyModelViewSet[Customer]):
    # Rows as values() dicts: building 20 to 200 model instances per page cost more than
    # the query. Declared once here; DRF clones it per request.
    queryset = customer_list().values("pk", *CUSTOMER_FIELDS)
    permission_classes = (CanViewCustomers,)
    serializer_class = CustomerSerializer
    filter_backends = [PrebuiltFilterBackend]
    filterset_class = CustomerFilterSet
    pagination_class = KeysetPagination
    ordering_fields = ORDERING_FIELDS
    default_ordering = DEFAULT_ORDERING
    lookup_field = "customer_id"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """DRF's ``list`` (filter, page, respond) with the rows rendered by :func:`customer_rows_json`."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the paginator always pages
        return self.get_paginated_response(customer_rows_json(page))


@extend_schema(
    summary="Obtain an API token",
    description="Exchange a username and password for a token (throttled per client address).",
    request=TokenObtainRequestSerializer,
    responses={
        200: TokenResponseSerializer,
        400: OpenApiResponse(
            description="Missing fields (named), or wrong credentials or an inactive user "
            '(`{"non_field_errors": [...]}`).',
            response=PARAMETER_ERRORS,
        ),
        429: THROTTLED,
    },
)
class TokenObtainView(StrictQueryParams, LoginView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (TokenObtainThrottle, ApiAnonThrottle)

    def post(self, request: Request, format: Any = None) -> Response:
        serializer = TokenObtainRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        request.user = serializer.validated_data["user"]
        return super().post(request, format=format)

    def create_token(self) -> tuple[AuthToken, str]:
        return api_token_issue(user=self.request.user)


@extend_schema(summary="Revoke the token used", request=None, responses={204: None, 401: UNAUTHORIZED})
class TokenLogoutView(StrictQueryParams, LogoutView):
    authentication_classes = (ApiTokenAuthentication,)


@extend_schema(
    summary="Revoke every token of the user", request=None, responses={204: None, 401: UNAUTHORIZED}
)
class TokenLogoutAllView(StrictQueryParams, LogoutAllView):
    authentication_classes = (ApiTokenAuthentication,)


SCHEMA_VERSION = re.compile(r"[A-Za-z0-9._-]{1,32}")
BAD_SCHEMA_VERSION = "letters, digits, '.', '_' or '-', 1 to 32 of them"


class _SchemaParams(StrictQueryParams):
    """``lang`` and ``version`` besides the view's own; ``version`` names a file (the schema's
    download name): a plain word or a 400, never a header that cannot be sent (a 500)."""

    extra_query_params = ("lang", "version")
    http_method_names: Sequence[str] = ("get", "head")  # OPTIONS: no template to render the docs with

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        version = request.query_params.get("version")
        if version is not None and not SCHEMA_VERSION.fullmatch(version):
            raise ValidationError({"version": [BAD_SCHEMA_VERSION]})

    def handle_exception(self, exc: Exception) -> Response:
        # Every error (401, 404 for an unknown format, 405, 406, 429) in the API's JSON, not in
        # the YAML or HTML the view renders when it succeeds.
        view: Any = self  # a mixin: the APIView it is mixed into holds the request
        errors_as_json(view.request)
        return super().handle_exception(exc)  # type: ignore[misc]


class SchemaView(_SchemaParams, SpectacularAPIView):
    """``GET /api/schema/``: ``format`` (``json``/``yaml``), ``lang`` and ``version`` are honoured."""


class DocsView(_SchemaParams, SpectacularSwaggerView):
    """``GET /api/docs/``: Swagger UI; ``lang`` and ``version`` are passed on to the schema URL."""
