"""Secret values never leave the process: :mod:`config.redaction` and the log renderers."""

from __future__ import annotations

import json
import logging
import logging.config
from typing import Any

import pytest
import structlog

from config.logging import build_logging_config
from config.redaction import REDACTED, redact, redact_deep

DB_PASSWORD = "pg-Pa55word-42"
LOCAL_ONLY = "value-of-a-local-variable-only"
WEBHOOK = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture
def secrets(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", DB_PASSWORD)
    settings.SLACK_WEBHOOK_URL = WEBHOOK
    settings.SENTRY_DSN = "https://0123456789abcdef@o1.ingest.sentry.io/42"
    settings.LAKE_S3 = {**settings.LAKE_S3, "secret_access_key": "aws/Secret+Key=="}


@pytest.mark.usefixtures("secrets")
@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"connect failed: password={DB_PASSWORD}", DB_PASSWORD),
        (json.dumps({"pw": DB_PASSWORD + '"'}), DB_PASSWORD),
        (f"POST {WEBHOOK} failed", "XXXXXXXXXXXXXXXXXXXXXXXX"),
        ("HTTPSConnectionPool: url: /services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX", "B0000/XXXX"),
        ("sentry key 0123456789abcdef rejected", "0123456789abcdef"),
        ("{'s3.secret-access-key': 'aws/Secret+Key=='}", "aws/Secret+Key=="),
        ("Authorization: Token 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "9f86d081"),
        ("HTTP_AUTHORIZATION='Bearer abc.def.ghi-jkl'", "abc.def"),
    ],
)
def test_every_secret_is_redacted_wherever_it_appears(text: str, hidden: str) -> None:
    assert hidden not in redact(text)
    assert REDACTED in redact(text)


def test_former_secret_keys_are_redacted_from_the_settings_and_the_environment(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SECRET_KEY_FALLBACKS = ["former-key-in-the-settings-0123456789"]
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "older-key-one-0123456789,older-key-two-0123456789")
    text = "keys: former-key-in-the-settings-0123456789 older-key-two-0123456789"
    assert redact(text) == f"keys: {REDACTED} {REDACTED}"


def test_ordinary_text_is_left_alone() -> None:
    text = "customers-100.csv: succeeded (run 3): Invalid token. tokens=4"
    assert redact(text) == text


@pytest.mark.usefixtures("secrets")
def test_redact_deep_reaches_nested_values_and_keeps_other_types() -> None:
    event = {"a": [DB_PASSWORD, 3, None], "b": {"c": (f"x{DB_PASSWORD}",)}}
    assert redact_deep(event) == {"a": [REDACTED, 3, None], "b": {"c": (f"x{REDACTED}",)}}


def _render(fmt: str, settings: Any, capsys: pytest.CaptureFixture[str]) -> str:
    config = build_logging_config(level="INFO", fmt=fmt)
    logging.config.dictConfig(config)
    try:
        password = settings.DATABASES["default"]["PASSWORD"]
        try:
            connection_params = {"password": LOCAL_ONLY}  # a local: rich tracebacks printed these
            raise ConnectionError(f"cannot reach db ({len(connection_params)} params)")
        except ConnectionError:
            structlog.get_logger("t").error("db.down", exc_info=True)
            logging.getLogger("django.request").error("Internal Server Error", exc_info=True)
        structlog.get_logger("t").info("with.secret", value=f"x{password}x")
    finally:
        logging.config.dictConfig(settings.LOGGING)
    return capsys.readouterr().err


@pytest.mark.usefixtures("secrets")
def test_console_prints_an_exception_as_one_line_without_locals(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _render("console", settings, capsys)
    lines = err.strip().splitlines()
    assert len(lines) == 3, err
    assert "exc='ConnectionError: cannot reach db (1 params)'" in lines[0]
    assert "Traceback" not in err
    assert LOCAL_ONLY not in err
    assert DB_PASSWORD not in err


@pytest.mark.usefixtures("secrets")
def test_json_renders_a_plain_traceback_without_locals(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _render("json", settings, capsys)
    events = [json.loads(line) for line in err.strip().splitlines()]
    assert "Traceback (most recent call last)" in events[0]["exception"]
    assert LOCAL_ONLY not in err
    assert DB_PASSWORD not in err
    assert events[2]["value"] == f"x{REDACTED}x"


@pytest.mark.django_db
@pytest.mark.usefixtures("secrets")
def test_a_run_never_stores_a_secret_in_its_error_message_or_trace() -> None:
    from ingestion.models import RunStatus
    from ingestion.services import RunOutcome, run_record

    outcome = RunOutcome(
        error_message=f"a.csv: fetch failed: password {DB_PASSWORD} refused",
        error_trace=f"Traceback ...\nOperationalError: {WEBHOOK}",
    )
    run = run_record(
        source="local", filename="a.csv", sha256="", size=None, status=RunStatus.FAILED, outcome=outcome
    )
    run.refresh_from_db()
    assert DB_PASSWORD not in run.error_message
    assert "XXXXXXXXXXXX" not in run.error_trace
    assert run.error_message == f"a.csv: fetch failed: password {REDACTED} refused"
