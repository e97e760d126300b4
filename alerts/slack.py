"""Slack incoming webhook: one short message per alert."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlsplit

from alerts.base import Alert

ICONS = {"error": ":rotating_light:", "warning": ":warning:"}


def slack_payload(alert: Alert) -> dict[str, str]:
    """What failed, the file, the run id, the error line and a link to the run."""
    text = (
        f"{ICONS[alert.severity]} *ETL {alert.cause.label.lower()}*: `{alert.filename or '(no file)'}`"
        f" (source {alert.source}, run {alert.run_id}, stage {alert.stage})\n"
        f"> {alert.error}\n"
        f"<{alert.admin_url}|Open run {alert.run_id} in the admin>"
    )
    return {"text": text}


class SlackChannel:
    name = "slack"

    def __init__(self, *, webhook_url: str, timeout: float) -> None:
        if urlsplit(webhook_url).scheme not in {"http", "https"}:
            raise ValueError("SLACK_WEBHOOK_URL: expected an http(s) URL")
        self.webhook_url = webhook_url
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.webhook_url,
            data=json.dumps(slack_payload(alert)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        # urlopen raises HTTPError on any non-2xx answer.
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            response.read()
