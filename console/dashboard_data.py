"""The dashboard's figures, each chart one SQL aggregate over the runs of a date range.

Counted: real runs (not dry runs) that read their file to the end, ``succeeded`` or
``rejected``. Rows loaded are what succeeded runs loaded; the quarantine rate is quarantined
records over records read, in percent. Days are UTC (``TIME_ZONE``), by the run's start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Func, Q, Sum, Value
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from ingestion.models import IngestionRun, RunStatus

COUNTED = (RunStatus.SUCCEEDED, RunStatus.REJECTED)
TOP_PATTERNS = 12
TOP_RULES = 10
PATTERN_DIGITS = r"[0-9]+([-_.: ]*[0-9]+)*"
"""A file's partner pattern: its name in lower case, each run of digits (with the separators
between them, as in a date ``2026-12-04`` or a time ``10:30``) replaced by one ``*``."""


@dataclass(frozen=True)
class Span:
    """The days shown, both included."""

    first: date
    last: date

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _runs(span: Span) -> Any:
    tz = timezone.get_current_timezone()
    start = datetime.combine(span.first, time.min, tzinfo=tz)
    end = datetime.combine(span.last + timedelta(days=1), time.min, tzinfo=tz)
    return IngestionRun.objects.filter(
        started_at__gte=start, started_at__lt=end, dry_run=False, status__in=COUNTED
    ).order_by()


def _rate(quarantined: int | None, read: int | None) -> float | None:
    """Quarantined over read, in percent; None when nothing was read (a gap, not a 0 % day)."""
    return round(100.0 * (quarantined or 0) / read, 2) if read else None


def _series(rows: list[dict[str, Any]], *, key: str) -> dict[str, list[Any]]:
    return {
        "labels": [str(row[key]) for row in rows],
        "loaded": [int(row["loaded"] or 0) for row in rows],
        "read": [int(row["read"] or 0) for row in rows],
        "rate": [_rate(row["quarantined"], row["read"]) for row in rows],
    }


def _sums(runs: Any) -> Any:
    """``runs`` grouped by what they were reduced to with ``values()``, with their sums."""
    loaded = Sum("rows_loaded", filter=Q(status=RunStatus.SUCCEEDED))  # a rejected run loaded nothing
    return runs.annotate(loaded=loaded, read=Sum("rows_read"), quarantined=Sum("rows_quarantined"))


def per_day(span: Span) -> dict[str, list[Any]]:
    """Rows loaded and quarantine rate for every day of the span (days without runs: zero rows
    and no rate)."""
    rows = {
        row["day"]: row
        for row in _sums(_runs(span).annotate(day=TruncDate("started_at")).values("day")).values(
            "day", "loaded", "read", "quarantined"
        )
    }
    empty = {"loaded": 0, "read": 0, "quarantined": 0}
    return _series([{"day": day.isoformat(), **rows.get(day, empty)} for day in span.days()], key="day")


def per_source(span: Span) -> dict[str, list[Any]]:
    rows = _sums(_runs(span).values("source")).values("source", "loaded", "read", "quarantined")
    return _series(sorted(rows, key=lambda r: r["source"]), key="source")


def partner_pattern(name: str) -> str:
    """:data:`PATTERN_DIGITS` in Python (the SQL does the same): ``Customers-2026-12-04.csv`` →
    ``customers-*.csv``."""
    return re.sub(PATTERN_DIGITS, "*", name.lower())


def per_pattern(span: Span) -> dict[str, list[Any]]:
    """The :data:`TOP_PATTERNS` file-name patterns with the most records read."""
    pattern = Func(
        Lower("filename"), Value(PATTERN_DIGITS), Value("*"), Value("g"), function="regexp_replace"
    )
    rows = (
        _sums(_runs(span).annotate(pattern=pattern).values("pattern"))
        .values("pattern", "loaded", "read", "quarantined")
        .order_by("-read", "pattern")[:TOP_PATTERNS]
    )
    return _series(list(rows), key="pattern")


def top_rules(span: Span) -> dict[str, list[Any]]:
    """The rules that set most records aside over the span (from each run's stored quality report)."""
    runs_sql, params = _runs(span).values("id").query.sql_with_params()
    table = connection.ops.quote_name(IngestionRun._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT f.key, sum((f.value ->> 'count')::bigint) AS n FROM {table} r"
            " CROSS JOIN LATERAL jsonb_each(coalesce(r.report -> 'quality' -> 'failures', '{}'::jsonb)) f"
            f" WHERE r.id IN ({runs_sql}) AND jsonb_typeof(r.report -> 'quality' -> 'failures') = 'object'"
            " GROUP BY f.key ORDER BY n DESC, f.key LIMIT %s",
            [*params, TOP_RULES],
        )
        rows = cursor.fetchall()
    return {"labels": [code for code, _ in rows], "count": [int(n) for _, n in rows]}


def latest_per_source() -> list[IngestionRun]:
    """Each source's latest run, whatever its status or date (dry runs too: they are runs)."""
    return list(IngestionRun.objects.order_by("source", "-started_at", "-id").distinct("source"))
