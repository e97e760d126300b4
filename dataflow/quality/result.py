"""What the quality stage hands back: valid rows, quarantine entries, counts, report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dataflow.columns import CODES_COLUMN, LINE_COLUMN, MESSAGES_COLUMN
from dataflow.quality.outliers import OutlierReport
from dataflow.quality.thresholds import Outcome, Verdict


@dataclass(frozen=True)
class QuarantineEntry:
    """One record that will not load, ready to become a ``QuarantinedRecord``."""

    line_number: int | None
    raw: dict[str, Any] | None
    rule_codes: list[str]
    messages: list[str]
    raw_text: str = ""


@dataclass
class QualityResult:
    """Counts identity: ``read == len(valid) + duplicates + len(quarantined)``."""

    valid: pl.DataFrame
    quarantined: list[QuarantineEntry]
    read: int
    duplicates: int
    failures: dict[str, int]
    """Failures per rule code (a record failing two rules counts in both)."""
    examples: dict[str, str]
    """One message per failing rule code: the first in file order."""
    verdict: Verdict
    outliers: OutlierReport
    warnings: list[str] = field(default_factory=list)
    """Lines for ``IngestionRun.warnings``: the invalid share and the outlier share."""

    @property
    def rejected(self) -> bool:
        return self.verdict.outcome == Outcome.REJECT

    def quarantined_frame(self, *, line_column: str = LINE_COLUMN) -> pl.DataFrame:
        """The quarantined records as the pipeline stores them: line, codes, messages (lists)."""
        return pl.DataFrame(
            {
                line_column: [e.line_number for e in self.quarantined],
                CODES_COLUMN: [e.rule_codes for e in self.quarantined],
                MESSAGES_COLUMN: [e.messages for e in self.quarantined],
            },
            schema={
                line_column: pl.Int64,
                CODES_COLUMN: pl.List(pl.String),
                MESSAGES_COLUMN: pl.List(pl.String),
            },
        )

    def report(self) -> dict[str, Any]:
        """The ``quality`` part of ``IngestionRun.report`` (JSON-ready)."""
        return {
            "read": self.read,
            "valid": len(self.valid),
            "duplicates": self.duplicates,
            "quarantined": len(self.quarantined),
            "invalid_share": round(self.verdict.share, 4),
            "outcome": str(self.verdict.outcome),
            "failures": {
                code: {"count": count, "example": self.examples.get(code, "")}
                for code, count in sorted(self.failures.items())
            },
            "outliers": self.outliers.as_report(),
        }
