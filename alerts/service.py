"""``alert_run``: tell people once per run and cause, on every enabled channel."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import NoReverseMatch, reverse

from alerts.base import DEFAULT_STAGE, Alert, AlertCause, AlertedRun, Channel
from alerts.email import EmailChannel
from alerts.models import AlertRecord
from alerts.sentry import SentryChannel, sentry_enabled
from alerts.slack import SlackChannel
from common.errors import error_line, text_line

logger = structlog.get_logger("etl.alerts.service")  # its name before the move (#17): log filters use it

# Fallback dedupe when the database itself is what failed: this process
# still sends at most one alert per run and cause.
_sent_in_process: set[tuple[int, str]] = set()


def alert_channels() -> list[Channel]:
    """The channels enabled by the current settings, in a fixed order."""
    channels: list[Channel] = []
    if settings.SLACK_WEBHOOK_URL:
        channels.append(SlackChannel(webhook_url=settings.SLACK_WEBHOOK_URL, timeout=settings.ALERT_TIMEOUT))
    if settings.ALERT_EMAILS:
        channels.append(EmailChannel(recipients=list(settings.ALERT_EMAILS)))
    if sentry_enabled():
        channels.append(SentryChannel(flush_timeout=settings.ALERT_TIMEOUT))
    return channels


def run_admin_url(run: AlertedRun) -> str:
    try:
        path = reverse("admin:etl_ingestionrun_change", args=[run.pk])
    except NoReverseMatch:  # the run is not registered in the admin (yet)
        path = f"/admin/etl/ingestionrun/{run.pk}/change/"
    return f"{settings.ADMIN_BASE_URL}{path}"


def alert_build(
    *, run: AlertedRun, cause: AlertCause, error: BaseException | str | None, stage: str | None
) -> Alert:
    if isinstance(error, BaseException):
        line = error_line(error)
    elif error:
        line = text_line(error)
    else:
        line = text_line(run.error_message or "") or "(no error text)"
    return Alert(
        cause=cause,
        run_id=run.pk,
        source=run.source,
        filename=run.filename,
        stage=stage or DEFAULT_STAGE[cause],
        error=line,
        admin_url=run_admin_url(run),
        exception=error if isinstance(error, BaseException) else None,
    )


def _claim(alert: Alert, run: AlertedRun) -> AlertRecord | bool | None:
    """Record the alert before sending. ``None``: already alerted; ``False``: no database."""
    try:
        with transaction.atomic():
            return AlertRecord.objects.create(
                run_id=run.pk, cause=alert.cause, stage=alert.stage, message=alert.text()
            )
    except IntegrityError:
        return None
    except DatabaseError as exc:
        logger.error("alert.record_failed", run_id=run.pk, cause=alert.cause.value, error=error_line(exc))
        return False


def _send(alert: Alert, *, run: AlertedRun) -> dict[str, str]:
    """Every enabled channel, each on its own: a broken one is logged and the others still send."""
    outcome: dict[str, str] = {}
    for channel in alert_channels():
        try:
            channel.send(alert)
        except Exception as exc:  # a broken channel must not stop the others
            outcome[channel.name] = f"failed: {error_line(exc)}"
            logger.error(
                "alert.channel_failed",
                channel=channel.name,
                run_id=run.pk,
                cause=alert.cause.value,
                error=error_line(exc),
            )
        else:
            outcome[channel.name] = "sent"
    # info: the failure itself is what the caller reports; broken channels were logged as errors.
    if any(result == "sent" for result in outcome.values()):
        logger.info(
            "alert.sent",
            run_id=run.pk,
            cause=alert.cause.value,
            file=run.filename,
            stage=alert.stage,
            channels=outcome,
        )
    return outcome


def alert_run(
    *,
    run: AlertedRun,
    cause: AlertCause | str,
    error: BaseException | str | None = None,
    stage: str | None = None,
) -> dict[str, str]:
    """Alert on ``run`` for ``cause`` unless that was already done; never raises.

    Returns the outcome per channel (``{"slack": "sent", "email": "failed: ..."}``),
    empty when the alert was a duplicate, the run a dry run (nothing was
    loaded, nobody needs waking) or no channel is enabled. A failing
    channel is logged and the others still run: the caller's own error is
    what matters and must not be replaced by an alerting problem. The
    ``alert.sent`` line is logged only when a channel did send.
    """
    cause = AlertCause(cause)
    if run.dry_run:
        logger.debug("alert.dry_run_skipped", run_id=run.pk, cause=cause.value)
        return {}
    alert = alert_build(run=run, cause=cause, error=error, stage=stage)
    record = _claim(alert, run)
    if record is False:  # no database: this process's memory is the only dedupe left
        key = (run.pk, cause.value)
        record = None if key in _sent_in_process else False
        _sent_in_process.add(key)
    if record is None:
        logger.info("alert.duplicate_suppressed", run_id=run.pk, cause=cause.value)
        return {}

    outcome = _send(alert, run=run)
    if isinstance(record, AlertRecord):
        try:
            AlertRecord.objects.filter(pk=record.pk).update(channels=outcome)
        except DatabaseError as exc:
            logger.error("alert.record_failed", run_id=run.pk, cause=cause.value, error=error_line(exc))
    return outcome
