"""Tokens: obtaining, using, expiring, revoking, and ``create_api_token``."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from customers.auth import ApiTokenAuthentication, auth_tokens_with_user
from customers.permissions import CUSTOMERS_VIEW
from customers.serializers import UNKNOWN_FIELD, WRONG_CREDENTIALS
from customers.services import INACTIVE_USER, UNKNOWN_USER, api_token_create, user_roles_grant
from customers.tests.conftest import PASSWORD

URL = "/api/customers/"


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _assert_json_401(response: Any) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}
    assert response["WWW-Authenticate"] == "Token"


def test_valid_token_is_accepted(api: APIClient) -> None:
    assert api.get(URL).status_code == 200


def test_missing_token_is_a_json_401(anon: APIClient) -> None:
    _assert_json_401(anon.get(URL))


@pytest.mark.parametrize("header", ["Token wrong", "Token " + "0" * 64, "Token", "Token a b"])
def test_wrong_token_is_a_json_401(token: str, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    _assert_json_401(client.get(URL))


@pytest.mark.parametrize("suffix", ["\xff", "\x00", "'", "\u20ac"])
def test_valid_token_followed_by_a_stray_byte_is_a_json_401_not_a_500(token: str, suffix: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}{suffix}")
    response = client.get(URL)
    _assert_json_401(response)
    assert response.json() == {"detail": "Invalid token."}


def test_expired_token_is_a_json_401(user: Any) -> None:
    token = api_token_create(user=user)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    _assert_json_401(_client(token).get(URL))


def test_token_of_an_inactive_user_is_a_json_401(user: Any, token: str) -> None:
    user.is_active = False
    user.save()
    response = _client(token).get(URL)
    _assert_json_401(response)


def test_token_lives_api_token_ttl_hours(user: Any, settings: Any) -> None:
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": dt.timedelta(hours=3)}
    api_token_create(user=user)
    expiry = AuthToken.objects.get(user=user).expiry
    assert expiry is not None
    assert abs(expiry - (timezone.now() + dt.timedelta(hours=3))) < dt.timedelta(minutes=1)


def test_ttl_setting_comes_from_the_environment(settings: Any) -> None:
    assert dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS) == settings.REST_KNOX["TOKEN_TTL"]


def test_password_login_returns_a_working_token(user: Any, anon: APIClient) -> None:
    response = anon.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    assert _client(body["token"]).get(URL).status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [{"username": "alice", "password": "nope"}, {"username": "mallory", "password": PASSWORD}],
)
def test_wrong_password_or_user_is_a_400_without_token(
    user: Any, anon: APIClient, credentials: dict[str, str]
) -> None:
    response = anon.post("/api/auth/token/", credentials, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [WRONG_CREDENTIALS]}


def test_inactive_user_cannot_log_in(user: Any, anon: APIClient) -> None:
    user.is_active = False
    user.save()
    response = anon.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 400


def test_login_without_fields_names_them(anon: APIClient) -> None:
    response = anon.post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_login_with_an_unknown_field_names_it_and_issues_no_token(user: Any, anon: APIClient) -> None:
    body = {"username": "alice", "password": PASSWORD, "expiry": "never"}
    response = anon.post("/api/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"expiry": [UNKNOWN_FIELD.format(fields="username, password")]}
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("body", [[1, 2], "text", 3])
def test_login_with_a_body_that_is_not_an_object_is_a_400(anon: APIClient, body: Any) -> None:
    assert anon.post("/api/auth/token/", body, format="json").status_code == 400


def test_logout_revokes_only_the_token_used(user: Any) -> None:
    first, second = api_token_create(user=user), api_token_create(user=user)
    assert _client(first).post("/api/auth/logout/").status_code == 204
    _assert_json_401(_client(first).get(URL))
    assert _client(second).get(URL).status_code == 200


def test_logoutall_revokes_every_token_of_the_user(user: Any) -> None:
    first, second = api_token_create(user=user), api_token_create(user=user)
    assert _client(first).post("/api/auth/logoutall/").status_code == 204
    _assert_json_401(_client(second).get(URL))


def test_tokens_are_stored_hashed(user: Any) -> None:
    token = api_token_create(user=user)
    stored = AuthToken.objects.get(user=user)
    assert token not in (stored.digest, stored.token_key)


def test_create_api_token_prints_one_working_token(user: Any) -> None:
    out = StringIO()
    call_command("create_api_token", "alice", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert _client(lines[0]).get(URL).status_code == 200


def test_create_api_token_for_an_unknown_user_is_a_command_error(db: None) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command("create_api_token", "ghost")
    assert str(excinfo.value) == UNKNOWN_USER.format(username="ghost")


def test_create_api_token_for_an_inactive_user_is_a_command_error(db: None) -> None:
    get_user_model().objects.create_user(username="gone", password=PASSWORD, is_active=False)
    with pytest.raises(CommandError) as excinfo:
        call_command("create_api_token", "gone")
    assert str(excinfo.value) == INACTIVE_USER.format(username="gone")


def test_issuing_a_token_deletes_the_users_expired_tokens(user: Any) -> None:
    old = api_token_create(user=user)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    fresh = api_token_create(user=user)
    assert AuthToken.objects.filter(user=user).count() == 1
    _assert_json_401(_client(old).get(URL))
    assert _client(fresh).get(URL).status_code == 200


def test_authenticating_reads_only_the_presented_token(api: APIClient, user: Any) -> None:
    for _ in range(5):
        api_token_create(user=user)
    # knox itself would load all six of the user's tokens on every request.
    with CaptureQueriesContext(connection) as captured:
        api.get(URL)
    assert not [q for q in captured if 'FROM "knox_authtoken" WHERE "knox_authtoken"."user_id"' in q["sql"]]


def _token_view(auth_token: Any) -> tuple[Any, ...]:
    user = auth_token.user
    return (auth_token.pk, auth_token.digest, auth_token.expiry, user.pk, user.username, user.is_active)


def test_the_token_lookup_reads_what_knox_reads(user: Any) -> None:
    other = get_user_model().objects.create_user(username="bob", password=PASSWORD, is_active=False)
    tokens = [api_token_create(user=user), api_token_create(user=user), api_token_create(user=other)]
    for token in tokens:
        key = token[:15]
        knox_reads = AuthToken.objects.filter(token_key=key).select_related("user")
        assert [_token_view(t) for t in auth_tokens_with_user(token_key=key)] == [
            _token_view(t) for t in knox_reads
        ]
    assert auth_tokens_with_user(token_key="0" * 15) == []


def test_authenticating_is_one_query_and_compiles_no_queryset(
    user: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[object] = []
    original = SQLCompiler.as_sql

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        compiled.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    with CaptureQueriesContext(connection) as captured:
        authenticated, auth_token = ApiTokenAuthentication().authenticate_credentials(token.encode())
    assert len(captured) == 1
    assert compiled == []
    assert authenticated == user
    assert auth_token.token_key == token[:15]


def test_a_forged_token_sharing_the_key_neither_passes_nor_blocks_the_real_one(user: Any, token: str) -> None:
    intruder = get_user_model().objects.create_user(username="mallory", password=PASSWORD)
    expiry = timezone.now() + dt.timedelta(hours=1)
    AuthToken(user=intruder, token_key=token[:15], digest="0" * 128, expiry=expiry).save()
    assert ApiTokenAuthentication().authenticate_credentials(token.encode())[0] == user
    _assert_json_401(_client(token[:15] + "0" * (len(token) - 15)).get(URL))


@pytest.mark.parametrize("kind", ["none", "direct", "role", "superuser"])
def test_the_token_lookup_brings_the_users_permissions(db: None, kind: str) -> None:
    user = get_user_model().objects.create_user(username=f"u-{kind}", password=PASSWORD)
    if kind == "direct":
        user.user_permissions.add(Permission.objects.get(codename="view_ingestionrun"))
    elif kind == "role":
        user_roles_grant(user=user, roles=["customers"])
    elif kind == "superuser":
        user.is_superuser = True
        user.save()
    token = api_token_create(user=user)
    authenticated, _ = ApiTokenAuthentication().authenticate_credentials(token.encode())
    expected = ModelBackend().get_all_permissions(get_user_model().objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as captured:
        assert authenticated.get_all_permissions() == expected
        assert authenticated.has_perm(CUSTOMERS_VIEW) == (kind in ("role", "superuser"))
    assert len(captured) == 0


def test_a_permission_granted_or_revoked_counts_from_the_next_request(api: APIClient, user: Any) -> None:
    assert api.get(URL).status_code == 200
    user.groups.clear()
    assert api.get(URL).status_code == 403
    user_roles_grant(user=user, roles=["customers"])
    assert api.get(URL).status_code == 200
