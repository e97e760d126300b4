"""Typed access to the environment (``.env`` or process variables) via python-decouple.

Every setting is read through :func:`env` so that a bad value stops start-up with
one ``ImproperlyConfigured`` line that names the variable, never a bare
``ValueError`` from deep inside Django.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

from decouple import Csv, UndefinedValueError, config
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_MISSING: Any = object()

TRUE_VALUES = {"1", "true", "yes", "on", "y", "t"}
FALSE_VALUES = {"0", "false", "no", "off", "n", "f", ""}


def parse_bool(value: str | bool) -> bool:
    """Strict boolean: ``maybe`` is an error, not ``False``."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise ValueError(f"expected one of {sorted(TRUE_VALUES | FALSE_VALUES - {''})}")


def parse_port(value: str | int) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise ValueError("expected a TCP port between 1 and 65535")
    return port


def parse_positive_float(value: str | float) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("expected a number >= 0")
    return number


def parse_positive_int(value: str | int) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("expected an integer >= 1")
    return number


def parse_umask(value: str | int) -> int:
    """An octal umask (``077``, ``0027``): the permission bits files and folders are created without."""
    text = str(value).strip()
    if not text or len(text) > 4 or any(digit not in "01234567" for digit in text):
        raise ValueError("expected an octal umask of up to 4 digits, e.g. 077 or 027")
    mask = int(text, 8)
    if mask > 0o777:
        raise ValueError("expected an octal umask between 000 and 777")
    return mask


def parse_pg_size(value: str) -> str:
    """A PostgreSQL memory or disk size with its unit (``512MB``, ``4GB``), as PostgreSQL spells it."""
    match = re.fullmatch(r"\s*(\d+)\s*(kB|MB|GB|TB)\s*", value)
    if not match or int(match[1]) < 1:
        raise ValueError("expected a size with its unit: kB, MB, GB or TB (e.g. 512MB)")
    return f"{int(match[1])}{match[2]}"


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or networks (``10.0.0.0/8, 127.0.0.1``)."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip())


def choice(*allowed: str) -> Callable[[str], str]:
    def _parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return lowered

    return _parse


def csv_list(value: str) -> list[str]:
    return list(Csv()(value))


@overload
def env(name: str) -> str: ...
@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: Any, cast: Callable[[Any], T]) -> T: ...
@overload
def env(name: str, *, cast: Callable[[Any], T]) -> T: ...


def env(name: str, default: Any = _MISSING, cast: Callable[[Any], Any] | None = None) -> Any:
    """Read ``name`` from the environment or ``.env``, cast it, and fail clearly.

    A default is cast too, so ``env("DB_PORT", "5432", parse_port)`` always
    returns an ``int``. An empty value means the default, as if unset:
    ``.env.example`` lists every setting, most of them empty, and a ``.env``
    copied from it must behave like no ``.env`` at all (``EMBEDDED_PG_DATA=``
    is the default data folder, not the current directory).
    """
    try:
        raw = config(name) if default is _MISSING else config(name, default=default)
    except UndefinedValueError as exc:
        raise ImproperlyConfigured(f"{name}: required setting is not set") from exc
    if raw == "" and default is not _MISSING:
        raw = default
    if cast is None:
        return raw
    try:
        return cast(raw)
    except (ValueError, TypeError, OSError) as exc:
        raise ImproperlyConfigured(f"{name}: invalid value {raw!r}: {exc}") from exc


def env_list(name: str, default: Sequence[str] = ()) -> list[str]:
    return env(name, ",".join(default), csv_list)
