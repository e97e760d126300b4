"""Reject-versus-warn: the verdict for a share of invalid records."""

from __future__ import annotations

import pytest

from dataflow.quality import messages as msg
from dataflow.quality.thresholds import Outcome, Thresholds, threshold_decide


def test_share_at_or_below_warn_above_is_ok() -> None:
    verdict = threshold_decide(invalid=1, total=100, thresholds=Thresholds())
    assert (verdict.outcome, verdict.message) == (Outcome.OK, "")


def test_share_above_warn_above_warns_with_the_counts() -> None:
    verdict = threshold_decide(invalid=3, total=100, thresholds=Thresholds())
    assert verdict.outcome == Outcome.WARN
    assert verdict.message == msg.WARN_INVALID_SHARE.format(invalid=3, total=100, share=3.0, warn=1.0)
    assert verdict.message == "3 of 100 records (3.00%) failed the quality rules, above warn_above 1%"


def test_share_equal_to_reject_above_still_loads() -> None:
    assert threshold_decide(invalid=10, total=100, thresholds=Thresholds()).outcome == Outcome.WARN


def test_share_above_reject_above_rejects() -> None:
    verdict = threshold_decide(invalid=11, total=100, thresholds=Thresholds())
    assert verdict.outcome == Outcome.REJECT
    assert verdict.message == "11 of 100 records (11.00%) failed the quality rules, above reject_above 10%"


def test_empty_file_is_ok() -> None:
    assert threshold_decide(invalid=0, total=0, thresholds=Thresholds()).outcome == Outcome.OK


def test_run_override_replaces_only_the_given_threshold() -> None:
    limits = Thresholds().overridden(reject_above=50)
    assert (limits.warn_above, limits.reject_above) == (1.0, 50.0)
    assert threshold_decide(invalid=20, total=100, thresholds=limits).outcome == Outcome.WARN


def test_override_that_inverts_the_thresholds_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be greater than reject_above"):
        Thresholds().overridden(warn_above=20)


def test_percentage_outside_0_100_is_refused() -> None:
    with pytest.raises(ValueError, match=r"reject_above must be a percentage between 0 and 100, not -1"):
        Thresholds(reject_above=-1)
