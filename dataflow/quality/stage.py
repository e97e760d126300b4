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

from dataflow.columns import LINE_COLUMN, RAW_PREFIX, RAW_RECORD_COLUMN
from dataflow.quality.expressions import compile_rules
from dataflow.quality.kinds import CompiledRule, FieldInput
from dataflow.quality.outliers import outliers_find
from dataflow.quality.result import QualityResult, QuarantineEntry
from dataflow.quality.rules import RuleSet, load_ruleset
from dataflow.quality.thresholds import Outcome, Thresholds, threshold_decide

_DUPLICATE = "_q_duplicate"
_INVALID = "_q_invalid"

MISSING_LINE_COLUMN = "quality: the frame has no line-number column {column!r}"
CAST_WITHOUT_TEXT = (
    "quality: field {field!r} is already {dtype} and its original text is not in {raw!r}; "
    "the type check needs the text"
)


class QualityStageError(ValueError):
    """The frame handed to the stage breaks its contract (a programming error upstream)."""


def _raw_record(row: Mapping[str, Any], *, fields: list[str]) -> tuple[dict[str, Any] | None, str]:
    value = row.get(RAW_RECORD_COLUMN)
    if value is None:
        return {name: row[f"_q_orig_{name}"] for name in fields}, ""
    if isinstance(value, dict):
        return value, ""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None, str(value)
    return (parsed, "") if isinstance(parsed, dict) else (None, str(value))


def _raw_columns(data: nw.DataFrame[Any], rules: RuleSet, given: Mapping[str, str] | None) -> dict[str, str]:
    """Where each field's original text is; refuse a cast field whose text is gone."""
    if given is not None:
        raws = dict(given)
    else:
        names = rules.schema.field_names
        raws = {n: RAW_PREFIX + n for n in names if RAW_PREFIX + n in data.columns}
    for spec in rules.schema.fields:
        dtype = data.schema[spec.name]
        if spec.type != "string" and dtype != nw.String and spec.name not in raws:
            raise QualityStageError(
                CAST_WITHOUT_TEXT.format(field=spec.name, dtype=dtype, raw=RAW_PREFIX + spec.name)
            )
    return raws


def _prepared(
    frame: Any, rules: RuleSet, *, line_column: str, raw_columns: Mapping[str, str] | None
) -> tuple[nw.DataFrame[Any], dict[str, str]]:
    """The batch collected, absent fields as nulls, and where each field's original text is."""
    data = nw.from_native(frame)
    if isinstance(data, nw.LazyFrame):
        data = data.collect()
    if line_column not in data.columns:
        raise QualityStageError(MISSING_LINE_COLUMN.format(column=line_column))
    missing = [name for name in rules.schema.field_names if name not in data.columns]
    if missing:  # an absent column is a column of nulls: required fields then fail, optional pass
        data = data.with_columns(*(nw.lit(None, dtype=nw.String).alias(name) for name in missing))
    return data, _raw_columns(data, rules, raw_columns)


def _judged(
    data: nw.DataFrame[Any], compiled: list[CompiledRule], *, key: str, line_column: str, duplicates: bool
) -> nw.DataFrame[Any]:
    """Every row with its rules' verdicts (``_q_fail_<i>``), ``_INVALID`` and ``_DUPLICATE``: an earlier
    occurrence of a key (when ``duplicates`` are resolved here) is superseded by the last one."""
    fail_columns = [nw.col(f"_q_fail_{i}") for i in range(len(compiled))]
    superseded = ~nw.col(key).is_null() & ~nw.col(key).is_last_distinct().over(order_by=line_column)
    checked = data.with_columns(
        *(rule.failed.alias(f"_q_fail_{i}") for i, rule in enumerate(compiled)),
        **{_DUPLICATE: superseded if duplicates else nw.lit(value=False)},
    )
    invalid = nw.any_horizontal(*fail_columns, ignore_nulls=True) if fail_columns else nw.lit(value=False)
    return checked.with_columns(invalid.alias(_INVALID))


def _failing(
    kept: nw.DataFrame[Any],
    compiled: list[CompiledRule],
    inputs: dict[str, FieldInput],
    *,
    raws: Mapping[str, str],
    line_column: str,
) -> list[QuarantineEntry]:
    """The failing rows as quarantine entries, in file order."""
    if not kept[_INVALID].any():  # the common batch: building the (empty) frame below costs ~15 ms
        return []
    # Messages only for the failing rows: building text for every row would dominate the cost.
    bad = (
        kept.filter(nw.col(_INVALID))
        .with_columns(
            *(
                nw.when(nw.col(f"_q_fail_{i}")).then(rule.message).alias(f"_q_msg_{i}")
                for i, rule in enumerate(compiled)
            ),
            *(
                (nw.col(raws[name]).cast(nw.String) if name in raws else field.text).alias(f"_q_orig_{name}")
                for name, field in inputs.items()
            ),
        )
        .sort(line_column)
    )
    codes = [rule.code for rule in compiled]
    return _entries(bad, compiled_codes=codes, fields=list(inputs), line_column=line_column)


def _tallied(quarantined: list[QuarantineEntry]) -> tuple[dict[str, int], dict[str, str]]:
    """Failures per rule code, and the first message of each."""
    failures: dict[str, int] = {}
    examples: dict[str, str] = {}
    for entry in quarantined:
        for code, text in zip(entry.rule_codes, entry.messages, strict=True):
            failures[code] = failures.get(code, 0) + 1
            examples.setdefault(code, text)
    return failures, examples


def quality_check(
    frame: Any,
    *,
    ruleset: RuleSet | None = None,
    thresholds: Thresholds | None = None,
    line_column: str = LINE_COLUMN,
    raw_columns: Mapping[str, str] | None = None,
    set_aside: int = 0,
    today: date | None = None,
    resolve_duplicates: bool = True,
) -> QualityResult:
    """Judge one cleaned batch (a Polars DataFrame or LazyFrame).

    Fields may still be text (they are parsed here) or already cast by the
    transform, with their original text in ``raw_columns`` (default: the
    ``_raw_<field>`` columns present). Every record failure is found here: the
    declared rules, then what the customers table cannot store (a NUL byte).
    ``set_aside`` is the number of records the reader could not parse (it
    quarantined them): they count as read and invalid for the verdict.
    ``thresholds`` overrides the schema's (a run's command-line options).
    ``resolve_duplicates=False`` leaves duplicate keys in the valid rows, for a
    caller that resolves them across all batches of a file (the load's staging).
    Valid rows come back with the schema's types, without the raw columns.
    """
    rules = ruleset or load_ruleset()
    data, raws = _prepared(frame, rules, line_column=line_column, raw_columns=raw_columns)
    schema = rules.schema
    compiled, inputs = compile_rules(
        rules.checks,
        fields={spec.name: (spec.type, spec.formats) for spec in schema.fields},
        dtypes=dict(data.schema),
        raw_columns=raws,
        today=today or datetime.now(UTC).date(),
        key=schema.key,
    )
    checked = _judged(data, compiled, key=schema.key, line_column=line_column, duplicates=resolve_duplicates)
    kept = checked.filter(~nw.col(_DUPLICATE))
    quarantined = _failing(kept, compiled, inputs, raws=raws, line_column=line_column)
    failures, examples = _tallied(quarantined)
    parsed = {name: field.value.alias(name) for name, field in inputs.items()}  # a no-op on cast columns
    valid = kept.filter(~nw.col(_INVALID)).with_columns(**parsed)
    valid = valid.drop([c for c in valid.columns if c.startswith("_q_") or c in raws.values()])
    outlier_report = outliers_find(valid, config=rules.outliers, line_column=line_column)
    verdict = threshold_decide(
        invalid=len(quarantined) + set_aside,
        total=len(data) + set_aside,
        thresholds=thresholds or rules.thresholds,
    )
    warnings = [verdict.message] if verdict.outcome == Outcome.WARN else []
    return QualityResult(
        valid=valid.to_native(),
        quarantined=quarantined,
        read=len(data),
        duplicates=int(checked[_DUPLICATE].sum()),
        failures=failures,
        examples=examples,
        verdict=verdict,
        outliers=outlier_report,
        warnings=[*warnings, outlier_report.warning] if outlier_report.warning else warnings,
    )


def _entries(
    bad: nw.DataFrame[Any], *, compiled_codes: list[str], fields: list[str], line_column: str
) -> list[QuarantineEntry]:
    """Quarantine entries for the failing rows (Python per failing row only: each becomes a DB row),
    with their reasons in rule order."""
    entries = []
    wanted = [c for c in bad.columns if c.startswith(("_q_fail_", "_q_msg_", "_q_orig_"))]
    wanted += [c for c in (line_column, RAW_RECORD_COLUMN) if c in bad.columns]
    for row in bad.select(wanted).rows(named=True):
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
