"""The quality stage: cleaned batch in → valid rows, quarantine entries, counts, verdict.

Order of judgement, all vectorised over the batch:

1. duplicates — every earlier occurrence of a key is superseded by the last
   one (the ingest rule: last occurrence wins), whatever either's validity;
   superseded rows are counted as duplicates, never quarantined;
2. rules — each remaining row is checked against every compiled rule; a row
   that fails any is quarantined with all its codes and messages;
3. outliers — the valid rows are flagged (counted, with examples), still valid;
4. thresholds — the invalid share decides ok / warn / reject.

Hence ``read == len(valid) + duplicates + len(quarantined)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import narwhals as nw

from etl.quality.expressions import compile_rules
from etl.quality.outliers import outliers_find
from etl.quality.result import QualityResult, QuarantineEntry
from etl.quality.rules import RuleSet, load_ruleset
from etl.quality.thresholds import Outcome, Thresholds, threshold_decide

LINE_COLUMN = "__line__"
"""1-based line of the record in the file (record index for JSON arrays)."""
RAW_PREFIX = "_raw_"
"""``_raw_<field>``: the field's original text, kept by the transform beside a cast column."""
RAW_RECORD_COLUMN = "_raw"
"""Optional: the whole record as the file had it (a JSON object string or a struct)."""
_DUPLICATE = "_q_duplicate"
_INVALID = "_q_invalid"


class QualityStageError(ValueError):
    """The frame handed to the stage breaks its contract (a programming error upstream)."""


MISSING_LINE_COLUMN = "quality: the frame has no line-number column {column!r}"


def _raw_record(row: Mapping[str, Any], *, fields: list[str]) -> tuple[dict[str, Any] | None, str]:
    value = row.get(RAW_RECORD_COLUMN)
    if value is None:
        return {name: row[f"_q_text_{name}"] for name in fields}, ""
    if isinstance(value, dict):
        return value, ""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None, str(value)
    return (parsed, "") if isinstance(parsed, dict) else (None, str(value))


def quality_check(
    frame: Any,
    *,
    ruleset: RuleSet | None = None,
    thresholds: Thresholds | None = None,
    line_column: str = LINE_COLUMN,
    raw_columns: Mapping[str, str] | None = None,
    set_aside: int = 0,
    today: date | None = None,
) -> QualityResult:
    """Judge one cleaned batch (a Polars DataFrame or LazyFrame).

    ``raw_columns`` maps a field to the column holding its original text; by
    default ``_raw_<field>`` columns are used where present. ``set_aside`` is
    the number of records the reader could not parse (quarantined by the
    reader): they count as read and invalid for the verdict. ``thresholds``
    overrides the schema's (a run's command-line options). Returns valid rows
    with the schema's types (strings parsed here if the transform left them).
    """
    rules = ruleset or load_ruleset()
    limits = thresholds or rules.thresholds
    today = today or datetime.now(UTC).date()
    data = nw.from_native(frame)
    if isinstance(data, nw.LazyFrame):
        data = data.collect()
    if line_column not in data.columns:
        raise QualityStageError(MISSING_LINE_COLUMN.format(column=line_column))
    schema = rules.schema
    missing = [name for name in schema.field_names if name not in data.columns]
    if missing:  # an absent column is a column of nulls: required fields then fail, optional pass
        data = data.with_columns(*(nw.lit(None, dtype=nw.String).alias(name) for name in missing))
    raws = dict(raw_columns) if raw_columns is not None else {}
    if raw_columns is None:
        raws = {n: RAW_PREFIX + n for n in schema.field_names if RAW_PREFIX + n in data.columns}
    compiled, inputs = compile_rules(
        rules.rules,
        fields={spec.name: (spec.type, spec.formats) for spec in schema.fields},
        dtypes=dict(data.schema),
        raw_columns=raws,
        today=today,
        key=schema.key,
    )
    key_present = ~nw.col(schema.key).is_null()
    checked = data.with_columns(
        *(rule.failed.alias(f"_q_fail_{i}") for i, rule in enumerate(compiled)),
        *(nw.when(rule.failed).then(rule.message).alias(f"_q_msg_{i}") for i, rule in enumerate(compiled)),
        *(field.text.alias(f"_q_text_{name}") for name, field in inputs.items()),
        **{_DUPLICATE: key_present & ~nw.col(schema.key).is_last_distinct().over(order_by=line_column)},
    )
    fail_columns = [nw.col(f"_q_fail_{i}") for i in range(len(compiled))]
    invalid = nw.any_horizontal(*fail_columns, ignore_nulls=True) if fail_columns else nw.lit(value=False)
    checked = checked.with_columns(invalid.alias(_INVALID))
    kept = checked.filter(~nw.col(_DUPLICATE))
    bad = kept.filter(nw.col(_INVALID)).sort(line_column)
    failures: dict[str, int] = {}
    examples: dict[str, str] = {}
    if len(bad):
        counts = bad.select(*(c.sum() for c in fail_columns)).row(0)
        for i, (rule, count) in enumerate(zip(compiled, counts, strict=True)):
            if count:
                failures[rule.code] = failures.get(rule.code, 0) + int(count)
                first = bad.filter(nw.col(f"_q_fail_{i}")).head(1)[f"_q_msg_{i}"].item()
                examples.setdefault(rule.code, first)
    quarantined = _entries(
        bad, compiled_codes=[r.code for r in compiled], fields=list(inputs), line_column=line_column
    )
    parsed = {name: field.value.alias(name) for name, field in inputs.items() if name not in raws}
    valid = kept.filter(~nw.col(_INVALID)).with_columns(**parsed)
    valid = valid.drop([c for c in valid.columns if c.startswith("_q_")])
    outlier_report = outliers_find(valid, config=rules.outliers, line_column=line_column)
    read = len(data)
    verdict = threshold_decide(
        invalid=len(quarantined) + set_aside, total=read + set_aside, thresholds=limits
    )
    warnings = [verdict.message] if verdict.outcome == Outcome.WARN else []
    if outlier_report.warning:
        warnings.append(outlier_report.warning)
    return QualityResult(
        valid=valid.to_native(),
        quarantined=quarantined,
        read=read,
        duplicates=int(checked[_DUPLICATE].sum()),
        failures=failures,
        examples=examples,
        verdict=verdict,
        outliers=outlier_report,
        warnings=warnings,
    )


def _entries(
    bad: nw.DataFrame[Any], *, compiled_codes: list[str], fields: list[str], line_column: str
) -> list[QuarantineEntry]:
    """Quarantine entries for the failing rows (Python per failing row only: each becomes a DB row)."""
    entries = []
    for row in bad.rows(named=True):
        codes = [code for i, code in enumerate(compiled_codes) if row[f"_q_fail_{i}"]]
        texts = [row[f"_q_msg_{i}"] for i in range(len(compiled_codes)) if row[f"_q_fail_{i}"]]
        raw, raw_text = _raw_record(row, fields=fields)
        line = row[line_column]
        entries.append(
            QuarantineEntry(
                line_number=None if line is None else int(line),
                raw=raw,
                raw_text=raw_text,
                rule_codes=codes,
                messages=texts,
            )
        )
    return entries


__all__ = ["LINE_COLUMN", "RAW_PREFIX", "RAW_RECORD_COLUMN", "QualityStageError", "quality_check"]
