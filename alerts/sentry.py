"""Sentry: initialised once from SENTRY_DSN with the Django integration; alerts carry tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

if TYPE_CHECKING:  # imported by settings: no Django models at import time
    from alerts.base import Alert


def sentry_init(*, dsn: str, environment: str) -> None:
    """Called from settings when SENTRY_DSN is set. No tracing; personal data stays off (the default).

    Events carry no local variables (they would hold passwords and tokens) and
    their texts go through :func:`config.redaction.redact` (issue #14).
    """
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        traces_sample_rate=0.0,
        include_local_variables=False,
        send_default_pii=False,
        before_send=_redacted_event,
    )


def _redacted_event(event: Any, _hint: Any) -> Any:
    """The event with every secret value replaced, wherever it sits (messages, frames, breadcrumbs)."""
    from config.redaction import redact_deep

    return redact_deep(event)


def sentry_enabled() -> bool:
    client = sentry_sdk.get_client()
    return client.is_active() and bool(client.dsn)


class SentryChannel:
    name = "sentry"

    def __init__(self, *, flush_timeout: float) -> None:
        self.flush_timeout = flush_timeout

    def send(self, alert: Alert) -> None:
        tags = {
            "run_id": str(alert.run_id),
            "file": alert.filename,
            "stage": alert.stage,
            "cause": alert.cause.value,
            "source": alert.source,
        }
        # The exception (with its traceback) when there is one, else a message.
        if alert.exception is not None:
            event_id = sentry_sdk.capture_exception(alert.exception, tags=tags)
        else:
            event_id = sentry_sdk.capture_message(f"{alert.title}: {alert.error}", alert.severity, tags=tags)
        if event_id is None:
            raise RuntimeError("Sentry dropped the event (client inactive or event filtered)")
        # Commands exit right after the alert: send now, not at interpreter exit.
        sentry_sdk.flush(timeout=self.flush_timeout)
