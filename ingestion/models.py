"""Models of the pipeline: the audit log of runs and the quarantined records."""

from __future__ import annotations

from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    """Accepted (an upload, issue #15), waiting for a worker; then running, then its end."""
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"
    SKIPPED = "skipped"


class LakeStatus(models.TextChoices):
    """Outcome of the lake step (issue #7), which runs after the PostgreSQL commit."""

    NOT_RUN = "", "Not run"
    PENDING = "pending"
    """Written in the load's own transaction: the lake step is owed. A process killed before doing
    it leaves this; the next ingest or ``lake sync`` completes it (issue #14)."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REPAIRED = "repaired"
    DISABLED = "disabled"


class IngestionRun(models.Model):
    """One attempt to ingest one file: what, where from, outcome, counts, error.

    Invariant: ``read = loaded + duplicates + quarantined`` for every succeeded run.
    A run rejected by the quality thresholds records ``read`` and the records it
    quarantined; the others were valid but not loaded because the file was rejected
    as a whole. Runs rejected before reading (unreadable file, missing columns) read 0.
    """

    id = models.BigAutoField(primary_key=True)
    source = models.CharField(max_length=20)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.RUNNING)
    dry_run = models.BooleanField(default=False)
    forced = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pid = models.IntegerField(null=True, blank=True, help_text="Process that ran it (to detect killed runs).")
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When an upload was accepted (started_at: when a worker took it)."
    )
    requested_by = models.CharField(
        max_length=150, blank=True, help_text="User who uploaded the file (empty: a command or a schedule)."
    )
    rows_read = models.BigIntegerField(default=0)
    rows_loaded = models.BigIntegerField(default=0)
    rows_inserted = models.BigIntegerField(default=0)
    rows_updated = models.BigIntegerField(default=0)
    rows_unchanged = models.BigIntegerField(default=0)
    rows_duplicates = models.BigIntegerField(default=0)
    rows_quarantined = models.BigIntegerField(default=0)
    error_message = models.TextField(blank=True)
    error_trace = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    report = models.JSONField(default=dict, blank=True, help_text="Extra columns, outliers, stage details.")
    # A lake failure never undoes the PostgreSQL load: it is recorded here and
    # repaired by the next run or `manage.py lake sync`.
    lake_status = models.CharField(max_length=10, choices=LakeStatus.choices, default="", blank=True)
    lake_error = models.TextField(blank=True)
    lake_snapshot_id = models.BigIntegerField(
        null=True, blank=True, help_text="The lake snapshot this run's step published (issue #15)."
    )
    loaded_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The ingested_at stamped on the customers this run wrote (none for a dry run).",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "started_at"])]
        permissions = [
            ("upload_file", "Can upload a file to ingest (POST /api/ingestions/)"),
            ("view_own_ingestionrun", "Can view the ingestion runs of its own uploads"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.filename} ({self.status})"


class QuarantinedRecord(models.Model):
    """A record that did not load, with the file's own text and every reason."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="quarantined_records")
    line_number = models.BigIntegerField(
        null=True, blank=True, help_text="1-based line in the file (CSV/NDJSON) or record index (JSON)."
    )
    raw = models.JSONField(null=True, blank=True, help_text="The record as the file had it.")
    raw_text = models.TextField(blank=True, help_text="Raw text when the record could not be parsed.")
    # A record can be huge (a 50 MB field): only its start is kept (QUARANTINE_RAW_MAX_CHARS, issue #14).
    raw_truncated = models.BooleanField(
        default=False, help_text="raw_text holds only the start of the record (raw is then empty)."
    )
    raw_size = models.BigIntegerField(
        null=True, blank=True, help_text="Bytes of the whole record (truncated only)."
    )
    raw_sha256 = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the whole record (truncated only)."
    )
    rule_codes = models.JSONField(default=list, help_text='Machine-readable codes, e.g. ["email.pattern"].')
    messages = models.JSONField(default=list, help_text="One human message per failed rule.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "line_number", "id"]

    def __str__(self) -> str:
        return f"run {self.run_id} line {self.line_number}: {', '.join(self.rule_codes)}"
