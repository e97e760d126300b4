"""Token authentication: knox, minus one query per request.

knox's ``TokenAuthentication`` loads every token of the user on every request
to delete the expired ones. Here a request only checks its own token's expiry;
a user's expired tokens are deleted when a new token is issued
(:func:`customers.services.api_token_create`). Expired tokens never
authenticate either way.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed

INVALID_TOKEN = "Invalid token."  # noqa: S105 (a message, knox's own)
TOKEN_SHAPE = re.compile(rb"[0-9a-f]{16,128}")
"""What a knox token can look like (hex); anything else is refused before any lookup."""


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate(self, request: Any) -> Any:
        try:
            return super().authenticate(request)
        except UnicodeError as exc:  # a header character outside latin-1 (test clients, proxies)
            raise AuthenticationFailed(INVALID_TOKEN) from exc

    def authenticate_credentials(self, token: bytes) -> Any:
        """A token that is not plain hex (a non-UTF-8 byte, a quote...) is a 401, never a 500."""
        if not TOKEN_SHAPE.fullmatch(token):
            raise AuthenticationFailed(INVALID_TOKEN)
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token: Any) -> bool:
        """True (and the token deleted) when ``auth_token`` has expired."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class ApiTokenScheme(KnoxTokenScheme):
    """OpenAPI: the same ``Authorization: Token <key>`` scheme as knox's."""

    target_class = "customers.auth.ApiTokenAuthentication"
