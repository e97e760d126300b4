"""What an alert says: the cause, the run, the file, the stage, the error line, the admin link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from django.db import models


class AlertCause(models.TextChoices):
    FETCH_FAILED = "fetch_failed", "Fetch failed"  # after the retries, or at once when refused
    REJECTED = "rejected", "File rejected"
    RUN_FAILED = "run_failed", "Run failed"
    WARN_THRESHOLD = "warn_threshold", "Warning threshold crossed"


DEFAULT_STAGE = {
    AlertCause.FETCH_FAILED: "fetch",
    AlertCause.REJECTED: "quality",
    AlertCause.RUN_FAILED: "pipeline",
    AlertCause.WARN_THRESHOLD: "quality",
}


class AlertedRun(Protocol):
    """What alerting reads of a run (an ``IngestionRun``)."""

    @property
    def pk(self) -> Any: ...

    source: str
    filename: str
    error_message: str
    dry_run: bool


@dataclass(frozen=True)
class Alert:
    """Everything a channel needs; built once per run and cause."""

    cause: AlertCause
    run_id: int
    source: str
    filename: str
    stage: str
    error: str
    """The first line of the error: what a person reads first."""
    admin_url: str
    exception: BaseException | None = None
    """The original exception when there is one (Sentry keeps its traceback)."""

    @property
    def severity(self) -> Literal["error", "warning"]:
        return "warning" if self.cause == AlertCause.WARN_THRESHOLD else "error"

    @property
    def title(self) -> str:
        return f"{self.cause.label}: {self.filename or '(no file)'} (run {self.run_id})"

    def text(self) -> str:
        """The concise plain-text body shared by every channel."""
        return "\n".join(
            [
                f"ETL {self.cause.label.lower()}",
                f"File: {self.filename or '(no file)'} (source {self.source})",
                f"Run: {self.run_id}, stage {self.stage}",
                f"Error: {self.error}",
                f"Run in the admin: {self.admin_url}",
            ]
        )


class Channel(Protocol):
    """One way of telling people; ``send`` raises when the alert did not get through."""

    name: str

    def send(self, alert: Alert) -> None: ...
