"""The quality stage inside the ingest pipeline: one check per batch, one verdict per file.

A file is read in batches, so the stage runs per batch (:func:`batch_check`)
and a :class:`QualityTally` adds the batches up; the thresholds are applied
once, to the whole file, by :meth:`QualityTally.verdict`. Duplicate keys are
left to the load's staging table, which resolves them across all batches
(last occurrence wins) and counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from dataflow.columns import LINE_COLUMN, RAW_PREFIX
from dataflow.quality import messages as msg
from dataflow.quality.result import QualityResult
from dataflow.quality.rules import RuleSet, ruleset_for
from dataflow.quality.stage import quality_check
from dataflow.quality.thresholds import Outcome, Thresholds, Verdict, threshold_decide
from dataflow.schema import Schema


def batch_check(
    *,
    clean: pl.DataFrame,
    ruleset: RuleSet,
    text: pl.DataFrame | None = None,
    line_column: str = LINE_COLUMN,
    today: date | None = None,
) -> QualityResult:
    """Check one batch the transform cleaned and cast (``clean``, with its ``_raw_<field>`` texts).

    ``text``, the same batch before casting (columns named as the schema's
    fields), is needed only when a cast field's raw text is not in ``clean``:
    the type checks quote the original text.
    """
    typed = [  # a raw column the transform already kept is the same text (trimmed): not joined twice
        spec.name
        for spec in ruleset.schema.fields
        if spec.type != "string"
        and text is not None
        and spec.name in text.columns
        and RAW_PREFIX + spec.name not in clean.columns
    ]
    if text is not None and typed:
        originals = text.select(line_column, *(pl.col(name).alias(RAW_PREFIX + name) for name in typed))
        clean = clean.join(originals, on=line_column, how="left")
    return quality_check(
        clean, ruleset=ruleset, line_column=line_column, today=today, resolve_duplicates=False
    )


@dataclass
class _OutlierTally:
    flagged: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    fences: list[Any] | None = None
    skipped: str = ""


@dataclass
class QualityTally:
    """The quality figures of a whole file, added up batch by batch."""

    ruleset: RuleSet
    thresholds: Thresholds
    failures: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    checked: int = 0
    """Records the rules ran on (all batches)."""
    outliers_flagged: int = 0
    outlier_checks: dict[str, _OutlierTally] = field(default_factory=dict)

    def lines_correct(self, corrected: Callable[[int], int]) -> None:
        """Outlier examples were found with the reader's provisional lines: give them the real ones
        (a CSV file with ragged rows; the staged records get theirs in SQL)."""
        for check in self.outlier_checks.values():
            for example in check.examples:
                example["line"] = corrected(example["line"])

    def add_problem(self, *, code: str, message: str) -> None:
        """A failure found outside the rules (a record the reader set aside)."""
        self.failures[code] = self.failures.get(code, 0) + 1
        self.examples.setdefault(code, message)

    def add(self, result: QualityResult) -> None:
        self.checked += result.read
        for code, count in result.failures.items():
            self.failures[code] = self.failures.get(code, 0) + count
        for code, example in result.examples.items():
            self.examples.setdefault(code, example)
        self.outliers_flagged += result.outliers.flagged
        limit = self.ruleset.outliers.examples
        for check in result.outliers.checks:
            tally = self.outlier_checks.setdefault(check.code, _OutlierTally())
            tally.flagged += check.flagged
            tally.examples.extend(check.examples[: max(limit - len(tally.examples), 0)])
            report = check.as_report()
            tally.fences = tally.fences or report.get("fences")
            tally.skipped = tally.skipped or check.skipped

    def verdict(self, *, read: int, invalid: int) -> Verdict:
        """Load, warn or reject: ``invalid`` of the ``read`` records of the file failed."""
        return threshold_decide(invalid=invalid, total=read, thresholds=self.thresholds)

    def outlier_warning(self) -> str:
        if not self.checked:
            return ""
        share = 100.0 * self.outliers_flagged / self.checked
        if share <= self.ruleset.outliers.warn_above:
            return ""
        return msg.WARN_OUTLIER_SHARE.format(
            flagged=self.outliers_flagged,
            total=self.checked,
            share=share,
            warn=self.ruleset.outliers.warn_above,
        )

    def warnings(self, verdict: Verdict) -> list[str]:
        """Lines for ``IngestionRun.warnings``."""
        lines = [verdict.message] if verdict.outcome == Outcome.WARN else []
        outliers = self.outlier_warning()
        return [*lines, outliers] if outliers else lines

    def report(self, verdict: Verdict) -> dict[str, Any]:
        """The ``quality`` part of ``IngestionRun.report`` (JSON-ready)."""
        checks: dict[str, Any] = {}
        for code, tally in self.outlier_checks.items():
            entry: dict[str, Any] = {"flagged": tally.flagged, "examples": tally.examples}
            if tally.fences is not None:
                entry["fences"] = tally.fences
            if tally.skipped:
                entry["skipped"] = tally.skipped
            checks[code] = entry
        return {
            "outcome": str(verdict.outcome),
            "invalid": verdict.invalid,
            "read": verdict.total,
            "invalid_share": round(verdict.share, 4),
            "thresholds": {
                "warn_above": self.thresholds.warn_above,
                "reject_above": self.thresholds.reject_above,
            },
            "failures": {
                code: {"count": count, "example": self.examples.get(code, "")}
                for code, count in sorted(self.failures.items())
            },
            "outliers": {"flagged": self.outliers_flagged, "checked": self.checked, "checks": checks},
        }


def quality_setup(
    *,
    schema: Schema,
    extra_date_formats: tuple[str, ...] = (),
    warn_above: float | None = None,
    reject_above: float | None = None,
) -> QualityTally:
    """An empty tally for one file: the schema's rules with the run's extra date formats
    and threshold overrides. ``ValueError`` names a bad format or threshold."""
    rules = ruleset_for(schema).with_date_formats(extra_date_formats)
    thresholds = rules.thresholds.overridden(warn_above=warn_above, reject_above=reject_above)
    return QualityTally(ruleset=rules, thresholds=thresholds)
