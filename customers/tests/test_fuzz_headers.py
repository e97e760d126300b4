"""Property tests beyond the schema: hostile headers and forged cursors on every endpoint get no 5xx.

Complements ``test_fuzz.py`` (schemathesis, from the OpenAPI schema): here
hypothesis writes what the schema does not describe. Requests go through the
whole WSGI stack in-process (middleware, authentication, throttles, views).
Bounded: derandomized, a fixed number of examples.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.cursors import CURSOR_SALT, cursor_sign
from customers.services import api_token_create
from customers.tests.factories import customers_create
from ingestion.models import IngestionRun, QuarantinedRecord

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
EXAMPLES = settings(
    max_examples=120, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
LATIN1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=80)


@pytest.fixture
def world() -> dict[str, Any]:
    customer = customers_create(3)[0]
    run = IngestionRun.objects.create(source="local", filename="a.csv", status="succeeded")
    QuarantinedRecord.objects.create(
        run=run, line_number=2, raw={"a": "=1"}, rule_codes=["a.b"], messages=["m"]
    )
    root = get_user_model().objects.create_superuser("root", "root@example.org", "a long password")
    return {
        "token": api_token_create(user=root),
        "paths": [
            "/api/customers/",
            f"/api/customers/{customer.customer_id}/",
            "/api/ingestion-runs/",
            f"/api/ingestion-runs/{run.pk}/",
            f"/api/ingestion-runs/{run.pk}/quarantine/",
            "/api/schema/",
            "/healthz",
        ],
    }


def _get(path: str, headers: dict[str, str], **query: str) -> int:
    # The WSGI environ carries headers as latin-1 text: any byte a client can send.
    meta: dict[str, Any] = {f"HTTP_{name.upper().replace('-', '_')}": v for name, v in headers.items()}
    return Client().get(path, query, **meta).status_code


@given(
    which=st.integers(min_value=0, max_value=6),
    authorization=st.one_of(LATIN1, LATIN1.map(lambda t: f"Token {t}"), st.just("valid")),
    forwarded=LATIN1,
    accept=st.sampled_from(
        ["*/*", "application/json", "text/html", "application/xml;q=0.9", "\x00", "a/b/c"]
    ),
    suffix=LATIN1,
)
@EXAMPLES
def test_hostile_headers_never_get_a_server_error(
    world: dict[str, Any], which: int, authorization: str, forwarded: str, accept: str, suffix: str
) -> None:
    if authorization == "valid":
        authorization = f"Token {world['token']}{suffix}"
    headers = {"Authorization": authorization, "X-Forwarded-For": forwarded, "Accept": accept}
    assert _get(world["paths"][which], headers) < 500


def _drf_cursor(draw: Any) -> str:
    fields = draw(st.dictionaries(st.sampled_from("opr"), st.text(max_size=30), max_size=3))
    raw = "&".join(f"{k}={v}" for k, v in fields.items())
    return base64.b64encode(raw.encode("utf-8", "surrogatepass")).decode()


@st.composite
def cursors(draw: Any) -> str:
    kind = draw(st.sampled_from(["drf", "signed", "text"]))
    if kind == "drf":
        return _drf_cursor(draw)
    if kind == "signed":  # passes the signature: the payload's own checks must hold
        value = st.one_of(st.none(), st.integers(), st.text(max_size=20), st.booleans(), st.floats())
        payload = draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "o": st.sampled_from(["-ingested_at", "country", "x"]),
                        "v": value,
                        "i": value,
                        "f": value,
                    }
                ),
                st.dictionaries(st.text(max_size=3), value, max_size=4),
                value,
            )
        )
        if draw(st.booleans()):  # the form django.core.signing wrote before #18
            return signing.dumps(payload, salt=CURSOR_SALT, compress=True)
        if isinstance(payload, dict) and set(payload) == {"o", "v", "i", "f"}:
            payload = [payload[key] for key in "ovif"]
        return cursor_sign(json.dumps(payload).encode())
    return draw(st.text(max_size=60))


@given(
    which=st.sampled_from([0, 2, 4]), cursor=cursors(), ordering=st.sampled_from(["", "country", "-index"])
)
@EXAMPLES
def test_generated_cursors_never_get_a_server_error(
    world: dict[str, Any], which: int, cursor: str, ordering: str
) -> None:
    query = {"cursor": cursor, **({"ordering": ordering} if ordering and which == 0 else {})}
    assert _get(world["paths"][which], {"Authorization": f"Token {world['token']}"}, **query) < 500


@given(
    customer_id=st.text(max_size=40),
    run_id=st.one_of(st.integers(), st.text(max_size=25)),
)
@EXAMPLES
def test_generated_path_parameters_never_get_a_server_error(
    world: dict[str, Any], customer_id: str, run_id: Any
) -> None:
    headers = {"Authorization": f"Token {world['token']}"}
    from urllib.parse import quote

    for path in (
        f"/api/customers/{quote(customer_id, safe='')}/",
        f"/api/ingestion-runs/{quote(str(run_id), safe='')}/",
        f"/api/ingestion-runs/{quote(str(run_id), safe='')}/quarantine/",
    ):
        assert _get(path, headers) < 500, path
