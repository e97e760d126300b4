"""Secret values never leave the process in a log line, an error message or a trace.

:func:`redact` replaces every secret setting's value (and the secret parts of
URL-valued settings) wherever it appears in a text, plus whatever follows
``Token``/``Bearer`` in an ``Authorization``-like text. The logging pipeline
applies it to every rendered line (``config.logging``); run error messages and
traces apply it before they are stored.

The secrets are read from Django's settings when they are configured (at each
call: tests and ``override_settings`` see their own values), else from the
process environment, so logging set up before the settings finish loading is
covered too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6
"""Shorter values are not redacted (they would blank out common words); use longer secrets."""

SECRET_SETTINGS = (
    "SECRET_KEY",
    "SFTP_PASSWORD",
    "SFTP_KEY_PASSPHRASE",
    "SLACK_WEBHOOK_URL",
    "EMAIL_HOST_PASSWORD",
    "SENTRY_DSN",
    "DJANGO_SUPERUSER_PASSWORD",
    "REDIS_URL",
    "LAKE_CATALOG_URI",
)
"""Settings whose value (or, for URLs, password and path) is secret."""
SECRET_ENV = (
    "DB_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    *SECRET_SETTINGS,
)
"""The same secrets by environment variable (before the settings exist, and for boto3's own)."""

_TOKEN_PATTERN = re.compile(r"(?i)\b(token|bearer)(\s+|=|:\s*)(?!\[redacted\])[^\s'\",;]{6,}")


def _url_parts(value: str) -> list[str]:
    """The secret parts of a URL: its password, user (a Sentry DSN's key) and path with query."""
    if "://" not in value:
        return []
    try:
        parts = urlsplit(value)
        password, username = parts.password, parts.username
    except ValueError:
        return []
    found = [p for p in (password, username and password is None and username) if p]
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(path.strip("/")) >= MIN_SECRET_CHARS and value.split("://", 1)[0].startswith("http"):
        found.append(path)  # a webhook URL's secret is its path
    return [str(p) for p in found] + [unquote(str(p)) for p in found]


def _forms(value: str) -> list[str]:
    """``value`` as it may appear in a text: as is, JSON-escaped, repr-escaped."""
    return [value, json.dumps(value)[1:-1], repr(value)[1:-1]]


@lru_cache(maxsize=16)
def _pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    fragments = {form for value in values for part in [value, *_url_parts(value)] for form in _forms(part)}
    fragments = {f for f in fragments if len(f) >= MIN_SECRET_CHARS}
    if not fragments:
        return None
    # Longest first: a secret containing another is replaced whole.
    return re.compile("|".join(re.escape(f) for f in sorted(fragments, key=len, reverse=True)))


def _settings_values() -> Iterable[Any]:
    from django.conf import settings

    if not settings.configured:
        return ()
    try:
        values: list[Any] = [getattr(settings, name, "") for name in SECRET_SETTINGS]
        values += list(getattr(settings, "SECRET_KEY_FALLBACKS", None) or [])
        values.append(settings.DATABASES.get("default", {}).get("PASSWORD", ""))
        s3 = getattr(settings, "LAKE_S3", {}) or {}
        values += [s3.get("secret_access_key"), s3.get("session_token"), s3.get("access_key_id")]
    except Exception:  # settings still loading (logging is configured from them)
        return ()
    return values


def secret_values() -> tuple[str, ...]:
    """Every configured secret value, from the settings and the environment."""
    values = [*_settings_values(), *(os.environ.get(name, "") for name in SECRET_ENV)]
    values += os.environ.get("SECRET_KEY_FALLBACKS", "").split(",")  # each former key on its own
    return tuple(sorted({str(v) for v in values if v and isinstance(v, str)}))


def redact(text: str) -> str:
    """``text`` with every secret value and every ``Token <key>`` replaced by ``[redacted]``."""
    if not text:
        return text
    pattern = _pattern(secret_values())
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _TOKEN_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def redact_deep(value: Any) -> Any:
    """``value`` with :func:`redact` applied to every string inside its dicts, lists and tuples."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_deep(item) for item in value)
    return value
