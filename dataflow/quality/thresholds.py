"""Reject-versus-warn: how many invalid records a file may have.

Shares are percentages of the records read. Above ``warn_above`` the file
loads and the run succeeds with a warning (and an alert); above
``reject_above`` the whole file is rejected and nothing is loaded. "Above"
is strict: exactly 10% invalid with ``reject_above: 10`` still loads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from dataflow.quality import messages as msg

DEFAULT_WARN_ABOVE = 1.0
DEFAULT_REJECT_ABOVE = 10.0


@dataclass(frozen=True)
class Thresholds:
    warn_above: float = DEFAULT_WARN_ABOVE
    """Percent of records invalid above which the run succeeds with a warning and an alert."""
    reject_above: float = DEFAULT_REJECT_ABOVE
    """Percent of records invalid above which the whole file is rejected."""

    def __post_init__(self) -> None:
        for name in ("warn_above", "reject_above"):
            check_percentage(name, getattr(self, name))
        if self.warn_above > self.reject_above:
            raise ValueError(msg.THRESHOLD_ORDER.format(warn=self.warn_above, reject=self.reject_above))

    def overridden(self, *, warn_above: float | None = None, reject_above: float | None = None) -> Thresholds:
        """These thresholds with a run's command-line overrides (``None`` keeps the schema's)."""
        changes = {
            name: value
            for name, value in (("warn_above", warn_above), ("reject_above", reject_above))
            if value is not None
        }
        return replace(self, **changes)


def check_percentage(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ValueError(msg.THRESHOLD_BAD.format(name=name, value=value))
    return float(value)


def parse_thresholds(section: Any) -> Thresholds:
    """``quality.thresholds`` of a schema file; missing keys keep the defaults."""
    if section is None:
        return Thresholds()
    if not isinstance(section, dict):
        raise ValueError(
            msg.QUALITY_UNKNOWN_KEY.format(
                key=section, section="thresholds", allowed="warn_above, reject_above"
            )
        )
    unknown = sorted(set(section) - {"warn_above", "reject_above"})
    if unknown:
        raise ValueError(
            msg.QUALITY_UNKNOWN_KEY.format(
                key=unknown[0], section="thresholds", allowed="warn_above, reject_above"
            )
        )
    values = {name: check_percentage(name, value) for name, value in section.items()}
    return Thresholds(**values)


class Outcome(StrEnum):
    OK = "ok"
    WARN = "warn"
    REJECT = "reject"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    invalid: int
    total: int
    share: float
    """Percent of ``total`` that is invalid."""
    message: str = ""
    """The warning or rejection line for the run; empty when ``outcome`` is ``ok``."""


def threshold_decide(*, invalid: int, total: int, thresholds: Thresholds) -> Verdict:
    """Whether a file with ``invalid`` bad records out of ``total`` loads, warns or is rejected."""
    share = 100.0 * invalid / total if total else 0.0
    if share > thresholds.reject_above:
        text = msg.REJECT_INVALID_SHARE.format(
            invalid=invalid, total=total, share=share, reject=thresholds.reject_above
        )
        return Verdict(Outcome.REJECT, invalid, total, share, text)
    if share > thresholds.warn_above:
        text = msg.WARN_INVALID_SHARE.format(
            invalid=invalid, total=total, share=share, warn=thresholds.warn_above
        )
        return Verdict(Outcome.WARN, invalid, total, share, text)
    return Verdict(Outcome.OK, invalid, total, share)
