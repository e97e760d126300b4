"""Every rule compiled to Narwhals expressions over the whole batch.

A compiled rule is a pair of expressions: ``failed`` (boolean, never null) and
``message`` (the human line for a failing row), built by the rule's kind
(:mod:`dataflow.quality.kinds`). They only use operations Narwhals maps to both
Polars and PySpark (regex ``contains``, ``slice``, ``cast``, ``when``,
windows ``over``), so the Spark stage can evaluate the very same rules. No
Python runs per row.

Values are judged on their text as the file had it (after trimming): type
checks need the original string (``"12x"`` is not an integer), and messages
quote it. The text of a field comes from its raw column when the transform
kept one (``<field>`` cast, ``raw_columns[<field>]`` original), else from the
field's own column when it is still a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import narwhals as nw

from dataflow.columns import REPEATED_PREFIX
from dataflow.parsing import date_from_text, integer_from_text
from dataflow.quality.kinds import KINDS, CompiledRule, FieldInput, Rule
from dataflow.quality.rules import RuleSet


def compile_rule(rule: Rule, field: FieldInput, *, today: date) -> CompiledRule:
    """``rule`` as (failed, message) expressions. A missing value only fails ``required``."""
    return KINDS[rule.kind].compile(rule, field, today)


def field_input(
    name: str,
    *,
    field_type: str,
    formats: tuple[str, ...],
    is_string: bool,
    raw_column: str | None,
    repeated_column: str | None = None,
) -> FieldInput:
    """How to read field ``name``: its text, its typed value and whether it is present."""
    column = nw.col(name)
    if raw_column is not None:  # judged as the transform would read it: trimmed
        text = nw.col(raw_column).cast(nw.String).str.strip_chars()
    else:
        text = column if is_string else column.cast(nw.String)
    present = ~text.is_null() & (text.str.strip_chars().str.len_chars() > 0)
    if not is_string or field_type == "string":
        value = column
    elif field_type == "integer":
        value = integer_from_text(text)
    else:
        value = date_from_text(text, formats)
    repeated = nw.col(repeated_column).fill_null(value=False) if repeated_column is not None else None
    return FieldInput(text=text, value=value, present=present.fill_null(value=False), repeated=repeated)


def compile_rules(
    rules: tuple[Rule, ...],
    *,
    fields: Mapping[str, tuple[str, tuple[str, ...]]],
    dtypes: Mapping[str, nw.dtypes.DType],
    raw_columns: Mapping[str, str],
    today: date,
    key: str,
) -> tuple[list[CompiledRule], dict[str, FieldInput]]:
    """Every rule compiled against a frame with column types ``dtypes``, plus how to
    read each field (``fields``: name -> (type, date formats)). The key's ``unique``
    is not compiled: duplicate keys are resolved (last wins), not quarantined. Another field's
    ``unique`` reads the file-wide ``REPEATED_PREFIX`` column when the frame has it."""
    inputs = {
        name: field_input(
            name,
            field_type=field_type,
            formats=formats,
            is_string=dtypes[name] == nw.String,
            raw_column=raw_columns.get(name),
            repeated_column=REPEATED_PREFIX + name if REPEATED_PREFIX + name in dtypes else None,
        )
        for name, (field_type, formats) in fields.items()
    }
    compiled = [
        compile_rule(rule, inputs[rule.field], today=today)
        for rule in rules
        if not (rule.kind == "unique" and rule.field == key)
    ]
    return compiled, inputs


def rule_problems(
    rules: RuleSet,
    *,
    dtypes: Mapping[str, nw.dtypes.DType],
    raw_columns: Mapping[str, str],
    today: date,
) -> list[tuple[str, nw.Expr, nw.Expr]]:
    """``(code, failed, message)`` per rule (storage limits included): lazy expressions any
    Narwhals backend evaluates, for an engine that judges a whole file itself (Spark)."""
    compiled, _inputs = compile_rules(
        rules.checks,
        fields={spec.name: (spec.type, spec.formats) for spec in rules.schema.fields},
        dtypes=dtypes,
        raw_columns=raw_columns,
        today=today,
        key=rules.key,
    )
    return [(rule.code, rule.failed, nw.when(rule.failed).then(rule.message)) for rule in compiled]
