"""Token authentication: knox, minus one query per request, and its token query precompiled.

knox's ``TokenAuthentication`` loads every token of the user on every request
to delete the expired ones. Here a request only checks its own token's expiry;
a user's expired tokens are deleted when a new token is issued
(:func:`customers.services.api_token_create`). Expired tokens never
authenticate either way. Nothing is written on a request (knox's
``AUTO_REFRESH`` is off) except the deletion of an expired token.
"""

from __future__ import annotations

import binascii
import functools
import re
from hmac import compare_digest
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed

from customers import token_cache
from customers.prepared import rows_read

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
INVALID_TOKEN = "Invalid token."  # noqa: S105 (a message, knox's own)
TOKEN_SHAPE = re.compile(rb"[0-9a-f]{16,128}")
"""What a knox token can look like (hex); anything else is refused before any lookup."""


class TokenLookup(TokenAuthentication):
    """knox's credential check, reading the candidate tokens with one SQL statement built once.

    knox compiles ``AuthToken.objects.filter(token_key=...).select_related("user")``
    on every request, which cost the CPU of three database round trips. The
    statement here selects the same columns of the same join; the steps after
    it are knox's, in knox's order: an expired token is deleted and skipped,
    the digest is compared in constant time, AUTO_REFRESH is honoured, an
    inactive user is refused.
    """

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        text = token.decode("utf-8")
        for auth_token in self.tokens_with_user(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error) as exc:
                raise AuthenticationFailed(INVALID_TOKEN) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise AuthenticationFailed(INVALID_TOKEN)

    def tokens_with_user(self, *, token_key: str) -> list[Any]:
        return auth_tokens_with_user(token_key=token_key)


def auth_tokens_with_user(*, token_key: str) -> list[Any]:
    """The tokens whose key is ``token_key``, each with its ``user`` loaded (one query).

    The user's permissions come in the same row and fill ModelBackend's cache
    (``_perm_cache``): a permission check on the request then costs no query
    (ModelBackend would run two per request, the user object being new each time).
    """
    return tokens_from_rows(auth_token_rows(token_key=token_key))


def auth_token_rows(*, token_key: str) -> list[tuple[Any, ...]]:
    """The rows :func:`auth_tokens_with_user` builds its objects from."""
    sql = _token_query()[0]
    alias = router.db_for_read(get_token_model())
    # Prepared: the plan (a unique-key seek and the permission joins) is the same for any key.
    return rows_read(connections[alias], sql, [token_key], prepare=True, binary=True)


def tokens_from_rows(rows: list[tuple[Any, ...]] | tuple[tuple[Any, ...], ...]) -> list[Any]:
    """New token objects, each with its user and the user's permissions, from :func:`auth_token_rows`."""
    _sql, token_fields, user_fields, with_permissions = _token_query()
    token_model, user_model = get_token_model(), get_user_model()
    alias = router.db_for_read(token_model)
    tokens = []
    user_end = len(token_fields) + len(user_fields)
    for row in rows:
        auth_token = token_model.from_db(alias, token_fields, row[: len(token_fields)])
        auth_token.user = user_model.from_db(alias, user_fields, row[len(token_fields) : user_end])
        if with_permissions:
            auth_token.user._perm_cache = set(row[user_end])
        tokens.append(auth_token)
    return tokens


@functools.cache
def _token_query() -> tuple[str, list[str], list[str], bool]:
    token_model, user_model = get_token_model(), get_user_model()
    quote = connections[router.db_for_read(token_model)].ops.quote_name
    token_columns = [field.column for field in token_model._meta.concrete_fields]
    user_columns = [field.column for field in user_model._meta.concrete_fields]
    user_fk = token_model._meta.get_field("user").column
    user_pk = user_model._meta.pk.column
    columns = [f"t.{quote(c)}" for c in token_columns] + [f"u.{quote(c)}" for c in user_columns]
    permissions = _permissions_column(user_model, quote, f"u.{quote(user_pk)}")
    if permissions:
        columns.append(permissions)
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(token_model._meta.db_table)} t "
        f"JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_pk)} = t.{quote(user_fk)} "
        f"WHERE t.{quote('token_key')} = %s"
    )
    token_fields = [field.attname for field in token_model._meta.concrete_fields]
    user_fields = [field.attname for field in user_model._meta.concrete_fields]
    return sql, token_fields, user_fields, bool(permissions)


def _permissions_column(user_model: Any, quote: Any, user_id: str) -> str | None:
    """SQL for ModelBackend's set of ``app_label.codename`` of the user: its own and its groups', every
    one for a superuser. None when ModelBackend does not decide permissions or users have no groups."""
    if MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS or not issubclass(user_model, PermissionsMixin):
        return None
    group_model: Any = Group

    def through(model: Any, name: str) -> Any:
        return model._meta.get_field(name).remote_field.through._meta

    user_permissions = through(user_model, "user_permissions")
    user_groups = through(user_model, "groups")
    group_permissions = through(group_model, "permissions")

    def column(meta: Any, model: Any) -> str:
        return quote(next(f.column for f in meta.concrete_fields if f.related_model is model))

    permission, content_type = quote(Permission._meta.db_table), quote(ContentType._meta.db_table)
    names = (
        f"SELECT ct.{quote('app_label')} || '.' || p.{quote('codename')} FROM {permission} p "
        f"JOIN {content_type} ct ON ct.{quote('id')} = p.{quote('content_type_id')}"
    )
    own = (
        f"SELECT up.{column(user_permissions, Permission)} FROM {quote(user_permissions.db_table)} up "
        f"WHERE up.{column(user_permissions, user_model)} = {user_id}"
    )
    same_group = f"ug.{column(user_groups, Group)} = gp.{column(group_permissions, Group)}"
    via_groups = (
        f"SELECT gp.{column(group_permissions, Permission)} FROM {quote(group_permissions.db_table)} gp "
        f"JOIN {quote(user_groups.db_table)} ug ON {same_group} "
        f"WHERE ug.{column(user_groups, user_model)} = {user_id}"
    )
    return (
        f"CASE WHEN u.{quote('is_superuser')} THEN ARRAY({names}) "
        f"ELSE ARRAY({names} WHERE p.{quote('id')} IN ({own}) OR p.{quote('id')} IN ({via_groups})) END"
    )


class ApiTokenAuthentication(TokenLookup):
    request: Any = None

    def authenticate(self, request: Any) -> Any:
        self.request = request
        try:
            return super().authenticate(request)
        except UnicodeError as exc:  # a header character outside latin-1 (test clients, proxies)
            raise AuthenticationFailed(INVALID_TOKEN) from exc

    def tokens_with_user(self, *, token_key: str) -> list[Any]:
        """From :mod:`customers.token_cache` for a view that confirms it (:class:`CachedTokenViewMixin`)."""
        view = (getattr(self.request, "parser_context", None) or {}).get("view")
        if not isinstance(view, CachedTokenViewMixin) or not token_cache.enabled():
            return auth_tokens_with_user(token_key=token_key)
        cached = token_cache.rows_get(token_key)
        if cached is not None:
            setattr(self.request, token_cache.REQUEST_CACHED_GENERATION, cached[1])
            return tokens_from_rows(cached[0])
        label = token_cache.generation_before_read()
        rows = auth_token_rows(token_key=token_key)
        token_cache.rows_put(token_key, rows, label)
        return tokens_from_rows(rows)

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


class CachedTokenViewMixin:
    """For an API view: its token lookups may come from :mod:`customers.token_cache`, confirmed here.

    A request authenticated from the cache is confirmed once the throttle has
    read the credentials generation: if it changed since the entry was read (or
    the throttle did not run), the token is looked up again in the database and
    the permissions checked again, so a revoked token is a 401 (not a 429 either).
    """

    def check_throttles(self, request: Any) -> None:
        try:
            super().check_throttles(request)  # type: ignore[misc]
        finally:
            self.token_cache_confirm(request)

    def token_cache_confirm(self, request: Any) -> None:
        used = getattr(request, token_cache.REQUEST_CACHED_GENERATION, None)
        if used is None or getattr(request, token_cache.REQUEST_GENERATION, None) == used:
            return
        token_cache.entries_clear()
        setattr(request, token_cache.REQUEST_CACHED_GENERATION, None)
        request._authenticate()  # DRF's own step: sets user and auth, or raises (401)
        self.check_permissions(request)  # type: ignore[attr-defined]


class ApiTokenScheme(KnoxTokenScheme):
    """OpenAPI: the same ``Authorization: Token <key>`` scheme as knox's."""

    target_class = "customers.auth.ApiTokenAuthentication"
