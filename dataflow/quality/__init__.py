"""Data quality: declared rules, quarantine with reasons, reject-vs-warn thresholds, outliers.

The public names of the stage; see docs/quality.md.
"""

from dataflow.columns import LINE_COLUMN, RAW_PREFIX, RAW_RECORD_COLUMN
from dataflow.quality.result import QualityResult, QuarantineEntry
from dataflow.quality.rules import Rule, RuleSet, load_ruleset, ruleset_from_schema
from dataflow.quality.stage import QualityStageError, quality_check
from dataflow.quality.thresholds import Outcome, Thresholds, Verdict, threshold_decide

__all__ = [
    "LINE_COLUMN",
    "RAW_PREFIX",
    "RAW_RECORD_COLUMN",
    "Outcome",
    "QualityResult",
    "QualityStageError",
    "QuarantineEntry",
    "Rule",
    "RuleSet",
    "Thresholds",
    "Verdict",
    "load_ruleset",
    "quality_check",
    "ruleset_from_schema",
    "threshold_decide",
]
