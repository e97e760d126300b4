"""Alerts: one interface (:func:`alert_run`), three channels (Slack, email, Sentry).

Names are re-exported lazily: ``config/settings.py`` imports
:mod:`alerts.sentry` while settings are still loading, before Django's
models can be imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alerts.base import Alert, AlertCause
    from alerts.service import alert_run

__all__ = ["Alert", "AlertCause", "alert_run"]


def __getattr__(name: str) -> Any:
    if name in {"Alert", "AlertCause"}:
        from alerts import base

        return getattr(base, name)
    if name == "alert_run":
        from alerts.service import alert_run

        return alert_run
    raise AttributeError(name)
