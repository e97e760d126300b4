"""Token lookups kept in the worker's memory, dropped as soon as any credential changes anywhere.

A request's token lookup (its token, its user, the user's permissions) was a
database round trip on every request. A view that opts in
(:class:`customers.auth.CachedTokenViewMixin`) reads it from this cache
instead, under one rule: an entry is trusted only while the **credentials
generation**, a random value in Redis, has not changed since before the entry was
read from the database.

- The generation is set to a new random value whenever a token, a user, a group
  membership or a permission changes through the ORM (:func:`signals_connect`):
  logout, logout everywhere, an expired token deleted, a user deactivated in the admin, a role
  granted or taken. It is bumped at once and again after the change commits, so
  a worker that read the old rows before the commit drops them too.
- Reading the generation costs no round trip: the throttle's Redis script
  returns it with the request count (:mod:`customers.throttles`). A request
  authenticated from the cache is confirmed after the throttle: if the
  generation moved, or the throttle did not run, the token is looked up again
  in the database (a revoked token is a 401 on that very request).
- Changes that bypass the ORM's signals (``QuerySet.update()``, SQL by hand)
  take effect within ``API_TOKEN_CACHE_SECONDS``, the most an entry is kept.

Without Redis (``REDIS_URL`` empty) or with ``API_TOKEN_CACHE_SECONDS=0`` nothing
is cached. Entries hold database rows, not model instances: each request builds
its own objects. The token secret is never a key: entries are keyed by the
token's public prefix (``token_key``) and the digest is compared on every use.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction

log = structlog.get_logger("customers.token_cache")

GENERATION_KEY = "auth:credentials-generation"
REQUEST_GENERATION = "credentials_generation"
"""Attribute of a DRF request: the generation the throttle read for it."""
REQUEST_CACHED_GENERATION = "credentials_generation_cached"
"""Attribute of a DRF request authenticated from the cache: the generation of the entry used."""


@dataclass(frozen=True)
class _Entry:
    rows: tuple[tuple[Any, ...], ...]
    generation: str
    stored_at: float


class _State:
    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.generation: str | None = None  # the newest value this process has seen


_state = _State()


def redis_connection() -> Any | None:
    """The raw Redis client behind ``CACHES["default"]``; None when the cache is not django-redis."""
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def enabled() -> bool:
    return settings.API_TOKEN_CACHE_SECONDS > 0 and "django_redis" in settings.CACHES["default"]["BACKEND"]


def rows_get(token_key: str) -> tuple[tuple[tuple[Any, ...], ...], str] | None:
    """The rows cached for ``token_key`` and the generation they were read under, if still trusted here."""
    entry = _state.entries.get(token_key)
    if entry is None or entry.generation != _state.generation:
        return None
    if time.monotonic() - entry.stored_at >= settings.API_TOKEN_CACHE_SECONDS:
        _state.entries.pop(token_key, None)
        return None
    return entry.rows, entry.generation


def generation_before_read() -> str | None:
    """The label for rows about to be read from the database: the newest generation seen so far."""
    return _state.generation


def rows_put(token_key: str, rows: list[tuple[Any, ...]], generation: str | None) -> None:
    """Keep ``rows``, read after ``generation`` was seen; nothing is kept before one was seen."""
    if generation is not None and generation == _state.generation:
        _state.entries[token_key] = _Entry(tuple(rows), generation, time.monotonic())


def generation_observe(generation: str) -> None:
    """A generation read from Redis: any other value than the last one seen drops every entry."""
    if generation != _state.generation:
        _state.entries.clear()
        _state.generation = generation


def entries_clear() -> None:
    _state.entries.clear()


def generation_bump() -> None:
    """Credentials changed: every worker's entries become untrusted (now and after the commit)."""
    _state.entries.clear()
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    redis = redis_connection()
    if redis is None:
        return
    try:
        # A new random value, not a counter: after Redis lost its data a counter could come
        # back to a value an old entry carries.
        redis.set(GENERATION_KEY, secrets.token_hex(8))
    except Exception as exc:  # a change of credentials must not fail on the cache
        log.warning(
            "token_cache.bump_failed",
            error=type(exc).__name__,
            effect="cached token lookups expire within API_TOKEN_CACHE_SECONDS",
        )


def _on_change(sender: Any, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login: nothing a token lookup reads
    generation_bump()


def signals_connect() -> None:
    """Bump the generation on every ORM change a token lookup depends on."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db.models.signals import m2m_changed, post_delete, post_save
    from knox.models import get_token_model

    user_model = get_user_model()
    for model in (get_token_model(), user_model, Group, Permission):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"token_cache_save_{model._meta.label}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"token_cache_delete_{model._meta.label}")
    for field in ("groups", "user_permissions"):
        if hasattr(user_model, field):
            through = getattr(user_model, field).through
            m2m_changed.connect(_on_change, sender=through, dispatch_uid=f"token_cache_m2m_{field}")
    m2m_changed.connect(_on_change, sender=Group.permissions.through, dispatch_uid="token_cache_m2m_group")
