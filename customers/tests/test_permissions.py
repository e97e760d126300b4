"""Who may call what (customers.permissions): every endpoint refuses a valid token without the role."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from customers.permissions import ROLES, without_server_paths
from customers.services import api_token_create, user_roles_grant
from customers.tests.factories import customers_create
from ingestion.models import IngestionRun, QuarantinedRecord

pytestmark = pytest.mark.django_db

SECRET_PATH_MESSAGE = "/srv/customers/.data/work/partner.csv: rejected: cannot read /srv/customers/x.gz"


@pytest.fixture
def run() -> IngestionRun:
    run = IngestionRun.objects.create(
        source="local",
        filename="partner.csv",
        status="rejected",
        error_message=SECRET_PATH_MESSAGE,
        report={"quality": {"failures": {"email.pattern": {"count": 1, "example": '"jo@" is bad'}}}},
    )
    QuarantinedRecord.objects.create(
        run=run,
        line_number=2,
        raw={"Email": "jo@"},
        raw_text="1,jo@",
        rule_codes=["email.pattern"],
        messages=['email.pattern: "jo@" is not an email address'],
    )
    return run


def _client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


def _endpoints(run: IngestionRun) -> list[str]:
    customer = customers_create(1)[0]
    return [
        "/api/customers/",
        f"/api/customers/{customer.customer_id}/",
        "/api/ingestion-runs/",
        f"/api/ingestion-runs/{run.pk}/",
        f"/api/ingestion-runs/{run.pk}/quarantine/",
    ]


def test_every_data_endpoint_is_a_403_for_a_user_without_a_role(
    outsider: APIClient, run: IngestionRun
) -> None:
    for url in _endpoints(run):
        response = outsider.get(url)
        assert response.status_code == 403, url
        assert "permission" in response.json()["detail"], url


def test_customers_role_reads_customers_but_not_runs(api: APIClient, run: IngestionRun) -> None:
    codes = {url: api.get(url).status_code for url in _endpoints(run)}
    assert [c for u, c in codes.items() if u.startswith("/api/customers/")] == [200, 200]
    assert [c for u, c in codes.items() if u.startswith("/api/ingestion-runs/")] == [403, 403, 403]


def test_staff_read_runs_but_no_partner_values_without_the_permission(run: IngestionRun) -> None:
    staff = _client_for(get_user_model().objects.create_user("ops", is_staff=True))
    detail = staff.get(f"/api/ingestion-runs/{run.pk}/").json()
    assert detail["report"] == {"quality": {"failures": {"email.pattern": {"count": 1}}}}
    assert detail["error_message"] == SECRET_PATH_MESSAGE  # staff see server paths
    [record] = staff.get(f"/api/ingestion-runs/{run.pk}/quarantine/").json()["results"]
    assert (record["raw"], record["raw_text"], record["messages"]) == (None, "", [])
    assert (record["line_number"], record["rule_codes"]) == (2, ["email.pattern"])
    assert staff.get("/api/customers/").status_code == 403  # staff is not a customers reader


def test_operators_read_partner_values_but_no_server_paths(run: IngestionRun) -> None:
    user = get_user_model().objects.create_user("operator")
    out = StringIO()
    call_command("create_api_token", "operator", "--role", "operators", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    detail = client.get(f"/api/ingestion-runs/{run.pk}/").json()
    assert detail["report"]["quality"]["failures"]["email.pattern"]["example"] == '"jo@" is bad'
    assert detail["error_message"] == "partner.csv: rejected: cannot read x.gz"
    [record] = client.get(f"/api/ingestion-runs/{run.pk}/quarantine/").json()["results"]
    assert record["raw"] == {"Email": "jo@"}
    assert user.groups.get().name == ROLES["operators"][0]


def _role_client(username: str, role: str) -> APIClient:
    user = get_user_model().objects.create_user(username)
    user_roles_grant(user=user, roles=[role])
    return _client_for(user)


def _upload_run(name: str) -> IngestionRun:
    """A run as an upload by user ``name`` leaves it (queued now)."""
    return IngestionRun.objects.create(
        source="upload",
        filename=f"{name}.csv",
        status="succeeded",
        requested_by=name,
        queued_at=timezone.now(),
    )


@pytest.fixture
def partners(run: IngestionRun) -> dict[str, tuple[APIClient, IngestionRun]]:
    """Two partners' uploader tokens, each with a run it uploaded; beside ``run`` (a command's)."""
    return {name: (_role_client(name, "uploaders"), _upload_run(name)) for name in ("partner-a", "partner-b")}


def test_an_uploader_reads_the_runs_of_its_own_uploads_and_no_other(
    run: IngestionRun, partners: dict[str, tuple[APIClient, IngestionRun]]
) -> None:
    partner_a, own = partners["partner-a"]
    other = partners["partner-b"][1]

    listed = partner_a.get("/api/ingestion-runs/").json()["results"]
    assert [r["filename"] for r in listed] == ["partner-a.csv"]
    assert partner_a.get("/api/ingestion-runs/", {"filename": "partner-b.csv"}).json()["results"] == []
    assert partner_a.get(f"/api/ingestion-runs/{own.pk}/").status_code == 200
    assert partner_a.get(f"/api/ingestion-runs/{own.pk}/quarantine/").status_code == 200
    for hidden in (other, run):  # another partner's upload; a command's run
        for url in (f"/api/ingestion-runs/{hidden.pk}/", f"/api/ingestion-runs/{hidden.pk}/quarantine/"):
            response = partner_a.get(url)
            assert response.status_code == 404, url  # as an unknown id: not even its existence
            assert "partner-b" not in response.content.decode()


def test_operators_and_staff_read_every_run(
    run: IngestionRun, partners: dict[str, tuple[APIClient, IngestionRun]]
) -> None:
    staff = _client_for(get_user_model().objects.create_user("ops", is_staff=True))
    for client in (_role_client("operator", "operators"), staff):
        listed = client.get("/api/ingestion-runs/").json()["results"]
        assert sorted(r["filename"] for r in listed) == ["partner-a.csv", "partner-b.csv", "partner.csv"]


def test_a_new_user_given_a_deleted_uploaders_name_does_not_see_its_runs() -> None:
    earlier = _upload_run("partner-a")  # uploaded by a user of that name, deleted since
    IngestionRun.objects.filter(pk=earlier.pk).update(queued_at=timezone.now() - dt.timedelta(days=30))
    newcomer = _role_client("partner-a", "uploaders")

    assert newcomer.get("/api/ingestion-runs/").json()["results"] == []
    assert newcomer.get(f"/api/ingestion-runs/{earlier.pk}/").status_code == 404


def test_an_uploader_with_no_uploads_lists_no_run(run: IngestionRun) -> None:
    assert _role_client("partner-c", "uploaders").get("/api/ingestion-runs/").json()["results"] == []


def test_create_api_token_grants_the_customers_role(run: IngestionRun) -> None:
    get_user_model().objects.create_user("reader")
    out = StringIO()
    call_command("create_api_token", "reader", "--role", "customers", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    assert client.get("/api/customers/").status_code == 200
    assert client.get("/api/ingestion-runs/").status_code == 403


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/tmp/w/a.csv: no such file", "a.csv: no such file"),
        ("lake: run 3: PermissionError: '/srv/lake/raw/objects/0c'", "lake: run 3: PermissionError: '0c'"),
        ("sftp://partner@host:22/inbox: refused", "sftp://partner@host:22/inbox: refused"),
        ("s3://bucket/prefix/: access refused", "s3://bucket/prefix/: access refused"),
    ],
)
def test_server_paths_are_cut_to_the_file_name(text: str, shown: str) -> None:
    assert without_server_paths(text) == shown
