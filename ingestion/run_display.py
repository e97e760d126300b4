"""How a run reads to people, shared by the admin's runs list and the console: status badge,
duration, times with seconds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ingestion.models import IngestionRun, QuarantinedRecord

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BADGE_CSS = "ingestion/runs.css"
"""The badges' colours (static file), for any page that shows :func:`status_badge`."""
DRY_RUN_LABEL = "dry run"


def status_badge(run: IngestionRun) -> SafeString:
    """The status as a coloured badge with its text (colour is never the only signal); a dry
    run carries a second badge, a normal run none."""
    badge = format_html('<span class="run-badge run-badge--{0}">{0}</span>', run.status)
    if run.dry_run:
        return format_html('{} <span class="run-badge run-badge--dry">{}</span>', badge, DRY_RUN_LABEL)
    return badge


def time_shown(moment: datetime | None) -> str:
    """``2026-12-04 03:53:23`` in the site's time zone ('' for none)."""
    return timezone.localtime(moment).strftime(TIME_FORMAT) if moment is not None else ""


def duration_shown(run: IngestionRun, *, now: datetime | None = None) -> str:
    """``1.2 s``, ``3 min 04 s``, ``1 h 02 min``; a run still going counts up to ``now``."""
    if run.started_at is None:
        return ""
    end = run.finished_at or (now or timezone.now())
    return seconds_shown((end - run.started_at).total_seconds())


def seconds_shown(seconds: float) -> str:
    if seconds < 60:
        return f"{max(seconds, 0.0):.1f} s"
    whole = timedelta(seconds=round(seconds))
    minutes, secs = divmod(int(whole.total_seconds()), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def reasons_text(record: QuarantinedRecord) -> str:
    """Every reason of a quarantined record, as one line of text (not a JSON array)."""
    return "; ".join(record.messages)


def record_text(record: QuarantinedRecord) -> str:
    """The record as the file had it: its fields as JSON text, or the raw text when unparsed."""
    if record.raw is not None:
        return json.dumps(record.raw, ensure_ascii=False)
    return record.raw_text + (" …" if record.raw_truncated else "")
