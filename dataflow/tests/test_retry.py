"""Retries: exponential backoff with jitter, only for errors another attempt can fix."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from dataflow.retry import RetryPolicy, call_with_retry, db_ensure_connection
from testsupport.servers import HOST, free_port

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=1.0)


def transient(error: BaseException) -> bool:
    return isinstance(error, ConnectionError)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == name]


class Flaky:
    """Fails with ``error`` the first ``failures`` calls, then returns ``"done"``."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[float] = []

    def __call__(self) -> str:
        self.calls.append(time.monotonic())
        if len(self.calls) <= self.failures:
            raise self.error
        return "done"


def test_transient_failures_are_retried_until_success() -> None:
    flaky = Flaky(2, ConnectionRefusedError("refused"))

    result = call_with_retry(flaky, operation="list", target="t", retryable=transient, policy=FAST)

    assert result == "done"
    assert len(flaky.calls) == 3


def test_non_retryable_error_is_raised_at_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    flaky = Flaky(5, PermissionError("denied"))

    with pytest.raises(PermissionError):
        call_with_retry(flaky, operation="list", target="t", retryable=transient, policy=FAST)

    assert len(flaky.calls) == 1
    assert events(caplog, "retry.not_retried")[0]["error"] == "PermissionError: denied"


def test_last_error_is_reraised_after_the_configured_attempts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    flaky = Flaky(10, ConnectionResetError("reset by peer"))

    with pytest.raises(ConnectionResetError, match="reset by peer"):
        call_with_retry(
            flaky, operation="download a.csv", target="sftp://h", retryable=transient, policy=FAST
        )

    assert len(flaky.calls) == 4
    assert [e["attempt"] for e in events(caplog, "retry.attempt_failed")] == [1, 2, 3]
    gave_up = events(caplog, "retry.gave_up")
    assert gave_up == [
        {
            "event": "retry.gave_up",
            "operation": "download a.csv",
            "target": "sftp://h",
            "attempts": 4,
            "error": "ConnectionResetError: reset by peer",
            "logger": "etl.retry",
            "level": "debug",
            "timestamp": gave_up[0]["timestamp"],
        }
    ]


def test_delays_grow_exponentially_with_bounded_jitter(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(10, ConnectionError("down"))
    policy = RetryPolicy(attempts=5, base_delay=0.01, max_delay=1.0)

    with pytest.raises(ConnectionError):
        call_with_retry(flaky, operation="connect", target="t", retryable=transient, policy=policy)

    delays = [e["delay"] for e in events(caplog, "retry.attempt_failed")]
    for n, delay in enumerate(delays):
        assert 0.01 * 2**n <= delay <= 0.01 * 2**n + 0.01 + 0.001
    gaps = [b - a for a, b in zip(flaky.calls, flaky.calls[1:], strict=False)]
    assert all(gap >= delay - 0.001 for gap, delay in zip(gaps, delays, strict=True))


def test_delays_never_exceed_the_maximum(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(10, ConnectionError("down"))
    policy = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.03)

    with pytest.raises(ConnectionError):
        call_with_retry(flaky, operation="connect", target="t", retryable=transient, policy=policy)

    assert max(e["delay"] for e in events(caplog, "retry.attempt_failed")) <= 0.03


def test_policy_is_read_from_settings(settings: Any) -> None:
    settings.RETRY_ATTEMPTS = 7
    settings.RETRY_BASE_DELAY = 0.5
    settings.RETRY_MAX_DELAY = 9.0

    assert RetryPolicy.from_settings() == RetryPolicy(attempts=7, base_delay=0.5, max_delay=9.0)


@pytest.mark.django_db  # pytest-django guards every connection, even one to another server
def test_unreachable_database_is_retried_then_fails(caplog: pytest.LogCaptureFixture) -> None:
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": HOST,
                "PORT": free_port(),
                "NAME": "nowhere",
                "USER": "nobody",
                "OPTIONS": {"connect_timeout": 2},
            }
        }
    )
    connection = handler["default"]

    with pytest.raises(OperationalError):
        db_ensure_connection(connection=connection, policy=RetryPolicy(3, 0.01, 0.1))

    attempts = events(caplog, "retry.attempt_failed")
    assert [a["attempt"] for a in attempts] == [1, 2]
    assert attempts[0]["target"] == f"postgresql://{HOST}/nowhere"
    assert attempts[0]["operation"] == "db.connect"


@pytest.mark.django_db
def test_reachable_database_connects_on_the_first_attempt(caplog: pytest.LogCaptureFixture) -> None:
    from django.db import connection

    db_ensure_connection(policy=FAST)

    assert connection.is_usable()
    assert events(caplog, "retry.attempt_failed") == []
