"""Alerts reach a real HTTP server (Slack webhook, Sentry envelope) and a real SMTP server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk

from alerts import AlertCause, alert_run
from alerts.models import AlertRecord
from alerts.sentry import sentry_init
from dataflow.sources.base import FetchError
from ingestion.models import IngestionRun
from testsupport.servers import HttpRecorder, SmtpServer, free_port

pytestmark = pytest.mark.django_db

ERROR = "sftp://partner@127.0.0.1:2222/inbox: download customers-100.csv failed after 3 attempts: EOFError"


@pytest.fixture
def run() -> IngestionRun:
    return IngestionRun.objects.create(
        source="sftp", filename="customers-100.csv", status="failed", error_message=ERROR
    )


@pytest.fixture
def slack(settings: Any, http_recorder: HttpRecorder) -> HttpRecorder:
    settings.SLACK_WEBHOOK_URL = f"{http_recorder.url}/services/T000/B000/XXXX"
    settings.ADMIN_BASE_URL = "https://etl.example.com"
    return http_recorder


@pytest.fixture
def email(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    # pytest-django swaps in the in-memory backend; these tests want the real SMTP one.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "etl@example.com"
    settings.ALERT_EMAILS = ["ops@example.com", "data@example.com"]
    return smtp_server


@pytest.fixture
def sentry(http_recorder: HttpRecorder) -> Iterator[HttpRecorder]:
    sentry_init(dsn=f"http://publickey@127.0.0.1:{http_recorder.port}/42", environment="test")
    try:
        yield http_recorder
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)  # Sentry off again for the rest of the session


def raised(error: Exception) -> Exception:
    """The error as the pipeline has it: raised, with a traceback."""
    try:
        raise error
    except Exception as exc:
        return exc


def test_slack_receives_what_failed_the_file_the_run_the_error_and_the_admin_link(
    slack: HttpRecorder, run: IngestionRun
) -> None:
    outcome = alert_run(run=run, cause=AlertCause.FETCH_FAILED, error=FetchError(ERROR))

    [request] = slack.wait_for(1)
    assert outcome == {"slack": "sent"}
    assert request.path == "/services/T000/B000/XXXX"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "text": (
            ":rotating_light: *ETL fetch failed*: `customers-100.csv`"
            f" (source sftp, run {run.pk}, stage fetch)\n"
            f"> FetchError: {ERROR}\n"
            f"<https://etl.example.com/admin/etl/ingestionrun/{run.pk}/change/"
            f"|Open run {run.pk} in the admin>"
        )
    }


def test_email_arrives_at_every_recipient(email: SmtpServer, run: IngestionRun) -> None:
    outcome = alert_run(run=run, cause=AlertCause.REJECTED, error="customers-100.csv: 40% of rows failed")

    assert outcome == {"email": "sent"}
    [(recipients, message)] = email.messages
    assert recipients == ["ops@example.com", "data@example.com"]
    assert message["From"] == "etl@example.com"
    assert message["Subject"] == f"[ETL] File rejected: customers-100.csv (run {run.pk})"
    body = message.get_payload()
    assert isinstance(body, str)
    assert f"Run: {run.pk}, stage quality" in body
    assert "Error: customers-100.csv: 40% of rows failed" in body
    assert f"/admin/etl/ingestionrun/{run.pk}/change/" in body


def test_sentry_envelope_carries_run_file_and_stage_tags(sentry: HttpRecorder, run: IngestionRun) -> None:
    outcome = alert_run(
        run=run, cause=AlertCause.RUN_FAILED, error=raised(RuntimeError("COPY failed")), stage="load"
    )

    [request] = sentry.wait_for(1)
    assert outcome == {"sentry": "sent"}
    assert request.path == "/api/42/envelope/"
    [event] = [payload for header, payload in request.envelope_items() if header["type"] == "event"]
    assert event["tags"] == {
        "run_id": str(run.pk),
        "file": "customers-100.csv",
        "stage": "load",
        "cause": "run_failed",
        "source": "sftp",
    }
    assert event["environment"] == "test"
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "COPY failed")
    assert exception["stacktrace"]["frames"]


def test_warn_threshold_goes_to_sentry_as_a_warning_message(sentry: HttpRecorder, run: IngestionRun) -> None:
    alert_run(run=run, cause=AlertCause.WARN_THRESHOLD, error="7% of rows quarantined (warn at 5%)")

    [request] = sentry.wait_for(1)
    [event] = [payload for header, payload in request.envelope_items() if header["type"] == "event"]
    assert event["level"] == "warning"
    assert event["tags"]["stage"] == "quality"
    assert "7% of rows quarantined (warn at 5%)" in event["message"]


def test_one_alert_per_run_and_cause(slack: HttpRecorder, run: IngestionRun) -> None:
    first = alert_run(run=run, cause=AlertCause.RUN_FAILED, error="boom")
    second = alert_run(run=run, cause=AlertCause.RUN_FAILED, error="boom again")
    other_cause = alert_run(run=run, cause=AlertCause.REJECTED, error="too many bad rows")

    assert (first, second, other_cause) == ({"slack": "sent"}, {}, {"slack": "sent"})
    assert len(slack.wait_for(2)) == 2
    assert sorted(AlertRecord.objects.filter(run=run).values_list("cause", flat=True)) == [
        "rejected",
        "run_failed",
    ]


def test_a_failing_channel_is_recorded_and_the_others_still_send(
    slack: HttpRecorder, email: SmtpServer, run: IngestionRun, caplog: pytest.LogCaptureFixture
) -> None:
    slack.status = 500

    outcome = alert_run(run=run, cause=AlertCause.FETCH_FAILED, error=ERROR)

    assert outcome == {
        "slack": "failed: HTTPError: HTTP Error 500: Internal Server Error",
        "email": "sent",
    }
    assert len(email.messages) == 1
    assert AlertRecord.objects.get(run=run).channels == outcome
    failures = [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == "alert.channel_failed"
    ]
    assert [f["channel"] for f in failures] == ["slack"]


def test_an_unreachable_slack_does_not_raise(settings: Any, run: IngestionRun) -> None:
    settings.SLACK_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/hook"

    outcome = alert_run(run=run, cause=AlertCause.RUN_FAILED, error="boom")

    assert outcome["slack"].startswith("failed: URLError:")


def test_without_channels_the_alert_is_still_recorded(run: IngestionRun) -> None:
    assert alert_run(run=run, cause=AlertCause.RUN_FAILED) == {}

    record = AlertRecord.objects.get(run=run)
    assert record.cause == "run_failed"
    assert f"Error: {ERROR}" in record.message


def test_a_dry_run_alerts_nobody(slack: HttpRecorder, run: IngestionRun) -> None:
    run.dry_run = True
    run.save(update_fields=["dry_run"])

    assert alert_run(run=run, cause=AlertCause.REJECTED, error="too many bad rows") == {}
    assert slack.requests == []
    assert not AlertRecord.objects.exists()


def _sent_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == "alert.sent"]


def test_alert_sent_is_logged_only_when_a_channel_sent(
    settings: Any, slack: HttpRecorder, run: IngestionRun, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    settings.SLACK_WEBHOOK_URL = ""
    alert_run(run=run, cause=AlertCause.RUN_FAILED, error="boom")
    assert _sent_lines(caplog) == [], "no channel configured, yet an alert.sent line"

    settings.SLACK_WEBHOOK_URL = f"{slack.url}/services/T000/B000/XXXX"
    alert_run(run=run, cause=AlertCause.REJECTED, error="too many bad rows")
    assert [line["channels"] for line in _sent_lines(caplog)] == [{"slack": "sent"}]


def test_unknown_cause_is_a_programming_error(run: IngestionRun) -> None:
    with pytest.raises(ValueError, match="'exploded' is not a valid AlertCause"):
        alert_run(run=run, cause="exploded")


def test_sentry_dsn_setting_initialises_sentry_with_the_django_integration(
    http_recorder: HttpRecorder,
) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sentry_sdk; c = sentry_sdk.get_client(); "
        "print(c.dsn, c.options['environment'], 'django' in c.integrations)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")},
        "DEBUG": "true",
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{http_recorder.port}/7",
        "SENTRY_ENVIRONMENT": "staging",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    # the last line: Django's shell may first report its automatic imports
    assert result.stdout.strip().splitlines()[-1].split() == [
        f"http://publickey@127.0.0.1:{http_recorder.port}/7",
        "staging",
        "True",
    ]


def test_alerts_still_go_out_once_when_the_database_cannot_record_them(
    slack: HttpRecorder, run: IngestionRun
) -> None:
    from django.db import DatabaseError, connection, transaction

    with transaction.atomic():
        # A failed statement aborts the transaction: every later query fails, as with a lost database.
        with connection.cursor() as cursor, pytest.raises(DatabaseError):
            cursor.execute("SELECT * FROM no_such_table")
        first = alert_run(run=run, cause=AlertCause.RUN_FAILED, error="database went away")
        second = alert_run(run=run, cause=AlertCause.RUN_FAILED, error="database went away")
        transaction.set_rollback(True)

    assert (first, second) == ({"slack": "sent"}, {})
    assert len(slack.wait_for(1)) == 1
    assert not AlertRecord.objects.exists()
