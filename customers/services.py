"""Writes on users and tokens used by the demo and scripts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from knox.models import AuthToken

from customers.permissions import ROLES

DEMO_PASSWORD = "admin123"  # noqa: S105 -- documented dev-only default, refused when DEBUG is off
DEMO_PASSWORD_WARNING = (
    "WARNING: DJANGO_SUPERUSER_PASSWORD is not set; the demo admin uses the "
    f"development password {DEMO_PASSWORD!r} (only allowed while DEBUG is on)."
)


@dataclass(frozen=True)
class DemoAdmin:
    user: AbstractUser
    created: bool
    used_default_password: bool


def demo_admin_ensure(*, username: str = "admin") -> DemoAdmin:
    """Create the demo superuser, or reset its password to the configured one."""
    password = settings.DJANGO_SUPERUSER_PASSWORD
    used_default = False
    if not password:
        if not settings.DEBUG:
            raise ImproperlyConfigured("DJANGO_SUPERUSER_PASSWORD: required when DEBUG is off")
        password = DEMO_PASSWORD
        used_default = True
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username,
        defaults={"is_staff": True, "is_superuser": True, "email": f"{username}@example.com"},
    )
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return DemoAdmin(user=user, created=created, used_default_password=used_default)


def api_token_issue(*, user: AbstractUser) -> tuple[AuthToken, str]:
    """A new knox token (row, clear text) for ``user``; only its digest is stored.

    The user's expired tokens are deleted here, not on every request
    (see :mod:`customers.auth`). Lifetime: ``API_TOKEN_TTL_HOURS``.
    """
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    instance, token = AuthToken.objects.create(user=user)
    return instance, token


def api_token_create(*, user: AbstractUser) -> str:
    """A new token for ``user``, in clear text: print it now, it cannot be read back."""
    return api_token_issue(user=user)[1]


UNKNOWN_ROLE = "unknown role {role!r} (roles: {roles})"


def role_group_ensure(*, role: str) -> Group:
    """The group of ``role`` (:data:`customers.permissions.ROLES`), created with exactly its permissions."""
    if role not in ROLES:
        raise ValueError(UNKNOWN_ROLE.format(role=role, roles=", ".join(ROLES)))
    name, codenames = ROLES[role]
    group, _ = Group.objects.get_or_create(name=name)
    permissions = []
    for dotted in codenames:
        app_label, codename = dotted.split(".", 1)
        permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    group.permissions.set(permissions)
    return group


def user_roles_grant(*, user: AbstractUser, roles: Iterable[str]) -> None:
    """Add ``user`` to the groups of ``roles`` (idempotent; other groups are kept)."""
    groups = [role_group_ensure(role=role) for role in roles]
    if groups:
        user.groups.add(*groups)


UNKNOWN_USER = "create_api_token: no user named {username!r}"
INACTIVE_USER = "create_api_token: user {username!r} is inactive; activate it first"


class TokenUserError(ValueError):
    """No token can be issued for this username; the message says why."""


def api_token_create_for_username(*, username: str, roles: Iterable[str] = ()) -> str:
    """A new token for the active user ``username`` (for scripts and ``create_api_token``),
    after granting it ``roles``."""
    user_model = get_user_model()
    try:
        user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
    except user_model.DoesNotExist as exc:
        raise TokenUserError(UNKNOWN_USER.format(username=username)) from exc
    if not user.is_active:
        raise TokenUserError(INACTIVE_USER.format(username=username))
    user_roles_grant(user=user, roles=roles)
    return api_token_create(user=user)
