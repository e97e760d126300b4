"""One row per run and cause that was alerted: the record that prevents alert floods."""

from __future__ import annotations

from django.db import models

from alerts.base import AlertCause


class AlertRecord(models.Model):
    """An alert sent (or attempted) for a run; unique per run and cause.

    The row is written *before* the channels are called, so two processes
    alerting the same run and cause cannot both send.
    """

    id = models.BigAutoField(primary_key=True)
    # By name: the ingestion app (label "etl") calls alerts, alerts imports nothing of it.
    run = models.ForeignKey("etl.IngestionRun", on_delete=models.CASCADE, related_name="alerts")
    cause = models.CharField(max_length=20, choices=AlertCause.choices)
    stage = models.CharField(max_length=30, blank=True)
    message = models.TextField(help_text="The text the channels were given.")
    channels = models.JSONField(
        default=dict, blank=True, help_text='Outcome per channel: {"slack": "sent", "email": "failed: ..."}.'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["run", "cause"], name="alerts_one_per_run_and_cause")]

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.cause}"
