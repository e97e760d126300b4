"""The lake's outbox: changes of the customers table the curated tables do not have yet (issue #16)."""

from __future__ import annotations

from django.db import models


class Change(models.Model):
    """One inserted, updated or deleted customer row, or a rebuild request (``op`` ``r``).

    Written in the transaction that made the change (the load's upsert, an admin
    edit); read and deleted by the lake step (:mod:`lake.outbox`, :mod:`lake.publish`).
    """

    seq = models.BigAutoField(primary_key=True, help_text="Orders the changes of a row as they committed.")
    run_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="None: an edit outside ingest."
    )
    op = models.CharField(max_length=1, help_text="i insert, u update, d delete, r rebuild request.")
    before = models.JSONField(null=True, blank=True, help_text="The row before the change (to_jsonb).")
    after = models.JSONField(null=True, blank=True, help_text="The row after the change (to_jsonb).")

    class Meta:
        db_table = "lake_change"

    def __str__(self) -> str:
        return f"change {self.seq} ({self.op}, run {self.run_id})"
