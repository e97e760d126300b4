"""Outliers: records that are valid but unusual. They are flagged, counted and
shown with examples in the run report; they still load.

Checks (``quality.outliers.checks`` in the schema file), each on one field:

- ``iqr: K`` — numeric or date values outside the Tukey fences
  ``Q1 - K·IQR`` .. ``Q3 + K·IQR`` (code ``<field>.outlier``; IQR taken as
  at least 1, the measures being whole numbers);
- ``length_iqr: K`` — the same fences on string lengths (``<field>.length``);
- ``rare_below: P`` — values whose share of the batch is below P percent
  (``<field>.rare``), judged only from ``min_rows`` records on (default
  1000): rarity in a tiny file means nothing.

Everything is a Narwhals expression over the whole batch (quantiles, window
counts), so the same checks run on Polars and on Spark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import narwhals as nw

from etl.quality import messages as msg
from etl.schema import Schema

OUTLIER_KINDS = ("iqr", "length_iqr", "rare_below")
DEFAULT_WARN_ABOVE = 5.0
DEFAULT_EXAMPLES = 5
DEFAULT_MIN_ROWS = 1000
EPOCH = date(1970, 1, 1)
_CODE_SUFFIX = {"iqr": "outlier", "length_iqr": "length", "rare_below": "rare"}


@dataclass(frozen=True)
class OutlierCheck:
    field: str
    kind: str
    value: float
    """``K`` for the IQR kinds, the percentage for ``rare_below``."""
    field_type: str = "string"
    min_rows: int = DEFAULT_MIN_ROWS
    """``rare_below`` only: fewer records than this and the check is skipped."""

    @property
    def code(self) -> str:
        return f"{self.field}.{_CODE_SUFFIX[self.kind]}"


@dataclass(frozen=True)
class OutlierConfig:
    checks: tuple[OutlierCheck, ...] = ()
    warn_above: float = DEFAULT_WARN_ABOVE
    """Percent of records flagged (by any check) above which the run gets a warning."""
    examples: int = DEFAULT_EXAMPLES
    """Examples per check kept in the run report."""


def _positive(value: Any, *, key: str, where: str, field_name: str, integer: bool = False) -> Any:
    ok = not isinstance(value, bool) and isinstance(value, int if integer else int | float) and value > 0
    if not ok:
        expected = "a positive integer" if integer else "a positive number"
        raise ValueError(
            msg.OUTLIER_BAD_VALUE.format(
                index=where, field=field_name, key=key, expected=expected, value=value
            )
        )
    return value


def _check_from(entry: Any, *, index: int, schema: Schema) -> OutlierCheck:
    if not isinstance(entry, dict) or "field" not in entry:
        raise ValueError(msg.OUTLIER_NOT_MAPPING)
    name = entry["field"]
    if name not in schema.field_names:
        raise ValueError(msg.OUTLIER_UNKNOWN_FIELD.format(index=index, field=name))
    ftype = schema.field(name).type
    kinds = [k for k in entry if k in OUTLIER_KINDS]
    unknown = sorted(set(entry) - {"field", "min_rows", *OUTLIER_KINDS})
    if unknown:
        raise ValueError(
            msg.QUALITY_UNKNOWN_KEY.format(
                key=unknown[0],
                section=f"outlier check {index}",
                allowed="field, min_rows, " + ", ".join(OUTLIER_KINDS),
            )
        )
    if len(kinds) != 1:
        raise ValueError(
            msg.OUTLIER_NO_KIND.format(index=index, field=name, kinds=" or ".join(OUTLIER_KINDS))
        )
    kind = kinds[0]
    if kind == "iqr" and ftype not in ("integer", "date"):
        raise ValueError(
            msg.OUTLIER_KIND_TYPE.format(
                index=index, field=name, kind=kind, expected="an integer or date", type=ftype
            )
        )
    if kind == "length_iqr" and ftype != "string":
        raise ValueError(
            msg.OUTLIER_KIND_TYPE.format(index=index, field=name, kind=kind, expected="a string", type=ftype)
        )
    value = float(_positive(entry[kind], key=kind, where=str(index), field_name=name))
    min_rows = entry.get("min_rows", DEFAULT_MIN_ROWS)
    _positive(min_rows, key="min_rows", where=str(index), field_name=name, integer=True)
    return OutlierCheck(field=name, kind=kind, value=value, field_type=ftype, min_rows=min_rows)


def parse_outlier_config(section: Any, *, schema: Schema) -> OutlierConfig:
    """``quality.outliers`` of a schema file (``ValueError`` names the bad entry)."""
    from etl.quality.thresholds import check_percentage

    if section is None:
        return OutlierConfig()
    allowed = {"checks", "warn_above", "examples"}
    if not isinstance(section, dict) or set(section) - allowed:
        bad = sorted(set(section) - allowed)[0] if isinstance(section, dict) else section
        raise ValueError(
            msg.QUALITY_UNKNOWN_KEY.format(key=bad, section="outliers", allowed=", ".join(sorted(allowed)))
        )
    checks = section.get("checks") or []
    if not isinstance(checks, list):
        raise ValueError(msg.OUTLIER_NOT_MAPPING)
    examples = section.get("examples", DEFAULT_EXAMPLES)
    _positive(examples, key="examples", where="-", field_name="outliers", integer=True)
    return OutlierConfig(
        checks=tuple(_check_from(entry, index=i, schema=schema) for i, entry in enumerate(checks, 1)),
        warn_above=check_percentage("outliers warn_above", section.get("warn_above", DEFAULT_WARN_ABOVE)),
        examples=examples,
    )


def days_since_epoch(expr: nw.Expr) -> nw.Expr:
    """A date as a day number (1970-01-01 = 0) from its year, month and day: portable
    integer arithmetic (Howard Hinnant's ``days_from_civil``), no backend-specific cast."""
    year = expr.dt.year() - (expr.dt.month() <= 2).cast(nw.Int64)
    month = expr.dt.month().cast(nw.Int64)
    era = year // 400
    year_of_era = year - era * 400
    shifted_month = nw.when(month > 2).then(month - 3).otherwise(month + 9)
    day_of_year = (153 * shifted_month + 2) // 5 + expr.dt.day().cast(nw.Int64) - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _measure(check: OutlierCheck) -> nw.Expr:
    column = nw.col(check.field)
    if check.kind == "length_iqr":
        return column.str.len_chars()
    return days_since_epoch(column) if check.field_type == "date" else column


@dataclass
class CheckResult:
    code: str
    is_date: bool = False
    flagged: int = 0
    low: float | None = None
    high: float | None = None
    skipped: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_report(self) -> dict[str, Any]:
        report: dict[str, Any] = {"flagged": self.flagged, "examples": self.examples}
        if self.low is not None and self.high is not None:
            fences: list[Any] = [self.low, self.high]
            if self.is_date:  # day numbers back to dates people can read
                fences = [(EPOCH + timedelta(days=math.floor(v))).isoformat() for v in (self.low, self.high)]
            report["fences"] = fences
        if self.skipped:
            report["skipped"] = self.skipped
        return report


@dataclass
class OutlierReport:
    total: int
    flagged: int
    """Records flagged by at least one check."""
    checks: list[CheckResult]
    warning: str = ""

    def as_report(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "total": self.total,
            "checks": {result.code: result.as_report() for result in self.checks},
        }


def outliers_find(frame: nw.DataFrame[Any], *, config: OutlierConfig, line_column: str) -> OutlierReport:
    """Flag the unusual records of ``frame`` (the valid ones) per ``config``; never drops any."""
    total = len(frame)
    results = [
        CheckResult(code=check.code, is_date=check.kind == "iqr" and check.field_type == "date")
        for check in config.checks
    ]
    flags: dict[str, nw.Expr] = {}
    iqr_checks = [(i, c) for i, c in enumerate(config.checks) if c.kind != "rare_below"]
    if total and iqr_checks:
        quartiles = frame.select(
            *(
                expr
                for i, check in iqr_checks
                for expr in (
                    _measure(check).quantile(0.25, interpolation="linear").alias(f"q1_{i}"),
                    _measure(check).quantile(0.75, interpolation="linear").alias(f"q3_{i}"),
                )
            )
        ).row(0)
        for n, (i, check) in enumerate(iqr_checks):
            q1, q3 = quartiles[2 * n], quartiles[2 * n + 1]
            if q1 is None or q3 is None:
                results[i].skipped = "no values"
                continue
            # Every measure is a whole number (lengths, days, integers): an IQR of at least 1 keeps a
            # column of near-equal values (Q1 = Q3) from flagging everything off the median.
            spread = check.value * max(q3 - q1, 1.0)
            results[i].low, results[i].high = q1 - spread, q3 + spread
            measure = _measure(check)
            flags[f"_flag_{i}"] = (measure < results[i].low) | (measure > results[i].high)
    for i, check in enumerate(config.checks):
        if check.kind != "rare_below":
            continue
        if total < check.min_rows:
            results[i].skipped = f"fewer than {check.min_rows} records"
            continue
        value_share = nw.len().over(check.field) * 100.0 / total
        flags[f"_flag_{i}"] = ~nw.col(check.field).is_null() & (value_share < check.value)
    if not flags:
        return OutlierReport(total=total, flagged=0, checks=results)
    fields = list(dict.fromkeys(c.field for c in config.checks))
    marked = frame.select(nw.col(line_column), *(nw.col(name) for name in fields), **flags)
    marked = marked.with_columns(*(nw.col(name).fill_null(value=False) for name in flags))
    counts = marked.select(
        *(nw.col(name).sum() for name in flags),
        _any=nw.any_horizontal(*(nw.col(name) for name in flags), ignore_nulls=True).sum(),
    ).row(0)
    for name, count in zip(flags, counts, strict=False):
        i = int(name.removeprefix("_flag_"))
        results[i].flagged = int(count)
        sample = marked.filter(nw.col(name)).sort(line_column).head(config.examples)
        results[i].examples = [
            {"line": line, "value": str(value)}
            for line, value in zip(
                sample[line_column].to_list(), sample[config.checks[i].field].to_list(), strict=True
            )
        ]
    report = OutlierReport(total=total, flagged=int(counts[-1]), checks=results)
    share = 100.0 * report.flagged / total
    if share > config.warn_above:
        report.warning = msg.WARN_OUTLIER_SHARE.format(
            flagged=report.flagged, total=total, share=share, warn=config.warn_above
        )
    return report
