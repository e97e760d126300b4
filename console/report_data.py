"""What a run's report page shows, read from the run, its stored report and its quarantined records.

The stored report (``IngestionRun.report``) is written by the pipeline: ``quality`` (failures per
rule with one example message, outliers, thresholds), ``duplicates`` (counts and the first keys),
``seconds`` per stage, ``extra_columns``. Example values with their line numbers come from the
quarantined records themselves (the first ones of each rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from ingestion.run_display import duration_shown, time_shown

EXAMPLES_PER_RULE = 3
EXAMPLES_SCANNED = 10_000
"""Examples are looked for among this many quarantined records of the run (any run size)."""
BUSY = (RunStatus.QUEUED, RunStatus.RUNNING)
REFRESH_SECONDS = 2
TONES = {
    RunStatus.SUCCEEDED: "ok",
    RunStatus.SKIPPED: "info",
    RunStatus.REJECTED: "warn",
    RunStatus.FAILED: "bad",
    RunStatus.QUEUED: "busy",
    RunStatus.RUNNING: "busy",
}
REASON_QUEUED = "waiting for a worker since {at}"
REASON_RUNNING = "running since {at}"
REASON_LOADED = "{verb} {loaded} of {read} records ({inserted} new, {updated} updated, {unchanged} unchanged)"
REASON_NOT_LOADED_DRY = "dry run: nothing was written"
REJECTED_NOTE = "rejected as a whole: its valid records were not loaded"
REJECTED_VALID = "valid, not loaded"


@dataclass
class Equation:
    """``total = parts…`` with the numbers, and whether it holds (``None``: not expected to)."""

    total: tuple[str, int]
    parts: list[tuple[str, int]]
    holds: bool | None
    note: str = ""


@dataclass
class RuleFailure:
    code: str
    count: int
    share: float
    """Percent of the records read."""
    example: str
    examples: list[tuple[int | None, str]] = field(default_factory=list)
    """(line, message) of the first records that failed it."""


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def banner(run: IngestionRun) -> dict[str, str]:
    """Tone (colour), title and the one-line reason of the run's status."""
    if run.status == RunStatus.QUEUED:
        reason = REASON_QUEUED.format(at=time_shown(run.queued_at or run.started_at))
    elif run.status == RunStatus.RUNNING:
        reason = REASON_RUNNING.format(at=time_shown(run.started_at))
    elif run.status == RunStatus.SUCCEEDED:
        reason = REASON_LOADED.format(
            verb="would load" if run.dry_run else "loaded",
            loaded=run.rows_loaded,
            read=run.rows_read,
            inserted=run.rows_inserted,
            updated=run.rows_updated,
            unchanged=run.rows_unchanged,
        )
        if run.dry_run:
            reason = f"{reason}; {REASON_NOT_LOADED_DRY}"
    else:
        # A skipped run has no error: its reason ("already loaded by run N ...") is its first warning.
        reason = first_line(run.error_message) or first_line(str((run.warnings or [""])[0]))
    title = f"{run.status} (dry run)" if run.dry_run else str(run.status)
    return {"tone": TONES.get(RunStatus(run.status), "info"), "title": title, "reason": reason}


def equations(run: IngestionRun) -> list[Equation]:
    """The counts' arithmetic: read = loaded + duplicates + quarantined; loaded = inserted +
    updated + unchanged. It holds for a succeeded run; a rejected one loaded nothing."""
    done = run.status == RunStatus.SUCCEEDED
    rejected = run.status == RunStatus.REJECTED
    loaded = "would load" if run.dry_run else "loaded"
    parts = [
        (loaded, run.rows_loaded),
        ("duplicates", run.rows_duplicates),
        ("quarantined", run.rows_quarantined),
    ]
    if rejected:  # nothing was loaded: the records that passed the rules are a part of their own
        parts.insert(1, (REJECTED_VALID, max(run.rows_read - run.rows_duplicates - run.rows_quarantined, 0)))
    read = Equation(
        total=("read", run.rows_read),
        parts=parts,
        holds=run.rows_read == sum(n for _, n in parts) if done or rejected else None,
        note=REJECTED_NOTE if rejected else "",
    )
    split = Equation(
        total=(loaded, run.rows_loaded),
        parts=[
            ("inserted", run.rows_inserted),
            ("updated", run.rows_updated),
            ("unchanged", run.rows_unchanged),
        ],
        holds=run.rows_loaded == run.rows_inserted + run.rows_updated + run.rows_unchanged if done else None,
    )
    return [read, split]


def rule_failures(run: IngestionRun, *, values: bool = True) -> list[RuleFailure]:
    """Failures per rule, most frequent first, with their share of the records read and the first
    examples with line numbers (none without ``values``: they quote partner values)."""
    failures = (run.report.get("quality") or {}).get("failures") or {}
    read = run.rows_read or 0
    examples = _examples(run.pk) if values and failures and run.rows_quarantined else {}
    rows = [
        RuleFailure(
            code=code,
            count=int(entry.get("count", 0)),
            share=100.0 * int(entry.get("count", 0)) / read if read else 0.0,
            example=str(entry.get("example", "")) if values else "",
            examples=examples.get(code, []),
        )
        for code, entry in failures.items()
    ]
    return sorted(rows, key=lambda r: (-r.count, r.code))


def _examples(run_id: int) -> dict[str, list[tuple[int | None, str]]]:
    table = connection.ops.quote_name(QuarantinedRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, line_number, msg FROM ("
            " SELECT c.code, q.line_number, q.messages ->> (c.i::int - 1) AS msg,"
            "  row_number() OVER (PARTITION BY c.code ORDER BY q.line_number NULLS LAST, q.id) AS n"
            f" FROM (SELECT id, line_number, rule_codes, messages FROM {table} WHERE run_id = %s LIMIT %s) q"
            " CROSS JOIN LATERAL jsonb_array_elements_text(q.rule_codes) WITH ORDINALITY AS c(code, i)"
            ") t WHERE n <= %s ORDER BY code, n",
            [run_id, EXAMPLES_SCANNED, EXAMPLES_PER_RULE],
        )
        found: dict[str, list[tuple[int | None, str]]] = {}
        for code, line, message in cursor.fetchall():
            found.setdefault(code, []).append((line, message or ""))
        return found


def outliers(run: IngestionRun, *, values: bool = True) -> list[dict[str, Any]]:
    """Outlier checks that ran: flagged counts, fences, examples (line, value: none without
    ``values``); skipped ones say why."""
    checks = ((run.report.get("quality") or {}).get("outliers") or {}).get("checks") or {}
    return [
        {
            "code": code,
            "flagged": entry.get("flagged", 0),
            "fences": entry.get("fences"),
            "skipped": entry.get("skipped", ""),
            "examples": (entry.get("examples") or []) if values else [],
        }
        for code, entry in sorted(checks.items())
    ]


def stage_seconds(run: IngestionRun) -> list[tuple[str, float]]:
    seconds = run.report.get("seconds") or {}
    return [(name.replace("_", " "), float(value)) for name, value in seconds.items()]


def rules_note(run: IngestionRun, quality: dict[str, Any]) -> str:
    """What the rules section says when no record failed: it may be that none was checked."""
    if run.status in BUSY:
        return "The rules have not been applied yet."
    if not quality:
        return "The rules did not run: the run ended before the quality checks."
    if not quality.get("read"):
        return "The file held no records: the rules had nothing to check."
    return "Every record passed the rules."


def report_context(run: IngestionRun, *, values: bool) -> dict[str, Any]:
    """Everything the report template shows; the examples (partner values) only with ``values``."""
    quality = run.report.get("quality") or {}
    return {
        "run": run,
        "banner": banner(run),
        "busy": run.status in BUSY,
        "refresh_seconds": REFRESH_SECONDS,
        "started": time_shown(run.started_at),
        "finished": time_shown(run.finished_at),
        "queued": time_shown(run.queued_at),
        "duration": duration_shown(run),
        "equations": equations(run),
        "failures": rule_failures(run, values=values),
        "values_hidden": not values,
        "quality": quality,
        "rules_note": rules_note(run, quality),
        "duplicates": run.report.get("duplicates") or {},
        "duplicate_keys": (run.report.get("duplicates") or {}).get("keys") or [],
        "outliers": outliers(run, values=values),
        "seconds": stage_seconds(run),
        "extra_columns": run.report.get("extra_columns") or [],
        "error_stage": run.report.get("stage", ""),
    }
