"""Retries with exponential backoff and jitter (tenacity), one policy for every transport.

Only failures that another attempt can fix are retried (a refused connection, a
dropped transfer, a database that is restarting). Wrong credentials and a
changed host key fail at once: retrying them only delays the alert and can
lock the account. Every failed attempt is logged with its number and the
delay before the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from common.errors import error_line

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

T = TypeVar("T")

logger = structlog.get_logger("etl.retry")  # its name before the move (#17): log filters use it


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up."""

    attempts: int
    """Total attempts, the first one included (1 = no retry)."""
    base_delay: float
    """Seconds before the first retry; each later delay doubles, plus up to this much jitter."""
    max_delay: float
    """Upper bound of any single delay, in seconds."""

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        from django.conf import settings

        return cls(
            attempts=settings.RETRY_ATTEMPTS,
            base_delay=settings.RETRY_BASE_DELAY,
            max_delay=settings.RETRY_MAX_DELAY,
        )

    def wait(self) -> wait_exponential_jitter:
        # Jitter bounded by the base delay keeps the delays non-decreasing
        # (base*2^n + U(0, base) <= base*2^(n+1)) while still spreading out
        # workers that failed at the same moment.
        return wait_exponential_jitter(multiplier=self.base_delay, max=self.max_delay, jitter=self.base_delay)


def call_with_retry(
    fn: Callable[[], T],
    *,
    operation: str,
    target: str,
    retryable: Callable[[BaseException], bool],
    policy: RetryPolicy | None = None,
) -> T:
    """Call ``fn`` until it succeeds, a non-retryable error occurs, or the attempts run out.

    The last error is re-raised unchanged, so callers map it to their own
    one-line message (:func:`dataflow.sources.remote.source_call` for a source). ``target`` names what is
    being reached (``sftp://host:22/inbox``) and must never contain a secret.
    """
    policy = policy or RetryPolicy.from_settings()

    def log_attempt(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "retry.attempt_failed",
            operation=operation,
            target=target,
            attempt=state.attempt_number,
            attempts=policy.attempts,
            delay=round(state.upcoming_sleep, 3),
            error=error_line(error) if error else "",
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=policy.wait(),
        retry=retry_if_exception(retryable),
        before_sleep=log_attempt,
        reraise=True,
    )
    try:
        return retrying(fn)
    except Exception as exc:
        # debug: the caller reports the final error itself (one line, with the attempt count);
        # at the default level a failure is that one line on the terminal (issue #14).
        if retryable(exc):
            logger.debug(
                "retry.gave_up",
                operation=operation,
                target=target,
                attempts=policy.attempts,
                error=error_line(exc),
            )
        else:
            logger.debug("retry.not_retried", operation=operation, target=target, error=error_line(exc))
        raise


def is_transient_db_error(error: BaseException) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)


def db_ensure_connection(
    *, connection: BaseDatabaseWrapper | None = None, policy: RetryPolicy | None = None
) -> None:
    """Open the database connection before a load, retrying while the server is unreachable.

    Called at load time so a database that is restarting delays the run
    instead of failing it; a wrong password still fails after the attempts.
    """
    from django.db import connection as default_connection

    conn = connection or default_connection
    settings_dict = conn.settings_dict
    target = f"postgresql://{settings_dict.get('HOST') or 'embedded'}/{settings_dict.get('NAME')}"
    call_with_retry(
        conn.ensure_connection,
        operation="db.connect",
        target=target,
        retryable=is_transient_db_error,
        policy=policy,
    )
