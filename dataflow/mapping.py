"""Map a file's columns onto the schema's fields.

Order of matching, per field: its own name, then its declared aliases (both
compared after :func:`normalise_name`), then, for flattened JSON keys only
(``contact.email``), a last part naming the field or an alias, when exactly
one key does so. Missing required fields reject the file before any record is
processed; unknown columns are reported on the run (and kept in the lake).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import narwhals as nw

from dataflow.readers import LINE_COLUMN
from dataflow.schema import Schema

MISSING_COLUMNS = "missing required columns: {columns}"
DUPLICATE_COLUMNS = "columns {columns} all map to field {field!r}"

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
FrameT = TypeVar("FrameT")


def _narwhals(frame: Any) -> Any:
    """``frame`` as a Narwhals frame (Polars or Spark; typed loosely, the caller's type is kept)."""
    return nw.from_native(frame)


class MappingError(ValueError):
    """The file's columns cannot be mapped onto the schema: the file is rejected."""


def normalise_name(name: str) -> str:
    """``"  Customer Id "`` → ``customer_id``; ``contact.email`` → ``contact_email``."""
    return _NON_ALNUM.sub("_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class ColumnMapping:
    sources: dict[str, str]
    """Field name → source column it is read from."""
    extra: tuple[str, ...] = ()
    """Source columns that feed no field."""
    matched_by: dict[str, str] = field(default_factory=dict)
    """Field name → ``name``, ``alias`` or ``suffix`` (for the run report)."""

    def as_report(self) -> dict[str, object]:
        columns = {f: {"source": s, "by": self.matched_by.get(f, "name")} for f, s in self.sources.items()}
        return {
            "columns": columns,
            "extra_columns": list(self.extra),
        }


def columns_map(columns: list[str], *, schema: Schema) -> ColumnMapping:
    """The mapping for ``columns``, or MappingError naming missing or clashing columns."""
    normalised = {column: normalise_name(column) for column in columns}
    names = {spec.name: spec.name for spec in schema.fields}
    aliases = {normalise_name(alias): spec.name for spec in schema.fields for alias in spec.aliases}
    claims: dict[str, list[tuple[str, str]]] = {}
    unmatched: list[str] = []
    for column, norm in normalised.items():
        if norm in names:
            claims.setdefault(names[norm], []).append((column, "name"))
        elif norm in aliases:
            claims.setdefault(aliases[norm], []).append((column, "alias"))
        else:
            unmatched.append(column)
    for target, found in claims.items():
        if len(found) > 1:
            listed = ", ".join(repr(column) for column, _by in found)
            raise MappingError(DUPLICATE_COLUMNS.format(columns=listed, field=target))
    # Flattened keys: the last part may name a field nobody claimed yet.
    by_suffix: dict[str, list[str]] = {}
    for column in unmatched:
        if "." not in column:
            continue
        last = normalise_name(column.rsplit(".", 1)[1])
        named = names.get(last) or aliases.get(last)
        if named and named not in claims:
            by_suffix.setdefault(named, []).append(column)
    for named, keys in by_suffix.items():
        if len(keys) == 1:  # ambiguous suffixes map nothing; they stay extra columns
            claims[named] = [(keys[0], "suffix")]
    sources = {target: found[0][0] for target, found in claims.items()}
    missing = [name for name in schema.required_fields if name not in sources]
    if missing:
        raise MappingError(MISSING_COLUMNS.format(columns=", ".join(missing)))
    mapping = ColumnMapping(
        sources={name: sources[name] for name in schema.field_names if name in sources},
        matched_by={target: found[0][1] for target, found in claims.items()},
    )
    return replace(mapping, extra=tuple(extra_columns(columns, mapping=mapping)))


def frame_map(frame: FrameT, *, mapping: ColumnMapping, schema: Schema) -> FrameT:
    """Columns renamed to the schema's fields (absent ones null text), plus ``LINE_COLUMN``.

    Narwhals: the same code maps a Polars or a Spark frame (and returns that kind).
    """
    data = _narwhals(frame)
    present = set(data.columns)
    exprs = [
        nw.col(mapping.sources[name]).alias(name)
        if mapping.sources.get(name) in present
        else nw.lit(None, dtype=nw.String).alias(name)
        for name in schema.field_names
    ]
    mapped: FrameT = data.select(*exprs, nw.col(LINE_COLUMN)).to_native()
    return mapped


def extra_columns(columns: Iterable[str], *, mapping: ColumnMapping) -> list[str]:
    """Of ``columns`` (a file's, or a batch's: JSON keys may appear in later batches only), those
    that feed no field of ``mapping``, in order: the one derivation of a file's extra columns."""
    used = set(mapping.sources.values()) | {LINE_COLUMN}
    return [c for c in columns if c not in used]
