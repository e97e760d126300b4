"""The run's quality report for people: rule → failures table, outliers, quarantine CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from dataflow.csv_safe import csv_row
from dataflow.quality import messages as msg

FAILURES_HEADER = ("rule", "failures", "example")
NO_FAILURES = "quality: every record passed the rules"
NO_RECORDS = "quality: the file held no records to check"
OUTLIERS_LINE = "outliers: {flagged} of {checked} records flagged ({checks})"
WARNING_LINE = "warning: {text}"
EXAMPLE_CHARS = 90
QUARANTINE_CSV_COLUMNS = ("run_id", "file", "line_number", "rule_codes", "messages", "raw", "raw_text")


def failures_table(report: dict[str, Any]) -> str:
    """``report["failures"]`` (the run report's ``quality`` part) as an aligned text table."""
    failures = report.get("failures") or {}
    lines: list[str] = []
    if not failures:
        lines.append(NO_RECORDS if report.get("read") == 0 else NO_FAILURES)
    else:
        rows = [
            (code, str(entry["count"]), _cut(entry.get("example", "")))
            for code, entry in sorted(failures.items(), key=lambda item: (-item[1]["count"], item[0]))
        ]
        widths = [max(len(r[i]) for r in [FAILURES_HEADER, *rows]) for i in range(2)]
        for code, count, example in [FAILURES_HEADER, *rows]:
            lines.append(f"{code:<{widths[0]}}  {count:>{widths[1]}}  {example}".rstrip())
    if report.get("outcome") == "warn":
        text = msg.WARN_INVALID_SHARE.format(
            invalid=report["invalid"],
            total=report["read"],
            share=report["invalid_share"],
            warn=report["thresholds"]["warn_above"],
        )
        lines.append(WARNING_LINE.format(text=text))
    outliers = report.get("outliers") or {}
    flagged = {code: c["flagged"] for code, c in (outliers.get("checks") or {}).items() if c.get("flagged")}
    if flagged:
        checks = ", ".join(f"{code} {count}" for code, count in flagged.items())
        lines.append(
            OUTLIERS_LINE.format(flagged=outliers["flagged"], checked=outliers["checked"], checks=checks)
        )
    return "\n".join(lines)


def _cut(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def quarantine_csv_row(record: Any) -> list[Any]:
    """One quarantined record (a ``QuarantinedRecord``, its ``run`` loaded) as a row of
    :data:`QUARANTINE_CSV_COLUMNS`: codes and messages joined with `` | ``, ``raw`` (the record
    as the file had it) as JSON, formula-leading cells escaped (:mod:`dataflow.csv_safe`)."""
    return csv_row(
        [
            record.run_id,
            record.run.filename,
            "" if record.line_number is None else record.line_number,
            " | ".join(record.rule_codes),
            " | ".join(record.messages),
            "" if record.raw is None else json.dumps(record.raw, ensure_ascii=False),
            record.raw_text,
        ]
    )


def quarantine_write_csv(*, rows: Any, path: Path) -> int:
    """Write quarantined records as CSV for the partner (rows of :func:`quarantine_csv_row`);
    returns the count."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(QUARANTINE_CSV_COLUMNS)
        for record in rows:
            writer.writerow(quarantine_csv_row(record))
            count += 1
    return count
