"""Email through Django's email framework (EMAIL_HOST, EMAIL_PORT, ... settings)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from alerts.base import Alert


class EmailChannel:
    name = "email"

    def __init__(self, *, recipients: list[str]) -> None:
        self.recipients = recipients

    def send(self, alert: Alert) -> None:
        message = EmailMessage(
            subject=f"[ETL] {alert.title}",
            body=alert.text(),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.recipients,
        )
        message.send(fail_silently=False)
