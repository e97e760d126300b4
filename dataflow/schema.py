"""The customer schema declaration (``dataflow/schemas/*.yaml``), loaded and validated.

The YAML file is the single place that names the fields, their types, lengths,
aliases and (see the quality stage) their rules. Code reads it through
:func:`load_schema`; a malformed file fails with one line naming the file and
the offending entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from common.errors import error_text

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
FIELD_TYPES = ("string", "integer", "date")


class SchemaError(ValueError):
    """The schema file itself is invalid."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    max_length: int | None = None
    aliases: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    """Accepted date formats (strftime syntax), tried in order."""
    rules: tuple[dict[str, Any], ...] = ()
    """Raw rule entries; compiled and validated by the quality stage."""


@dataclass(frozen=True)
class Schema:
    name: str
    key: str
    fields: tuple[FieldSpec, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The whole parsed document, for stages that read their own sections."""

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _field_from(entry: Any, where: str) -> FieldSpec:
    if not isinstance(entry, dict) or "name" not in entry:
        raise SchemaError(f"{where}: each field needs at least a 'name'")
    name = entry["name"]
    ftype = entry.get("type", "string")
    if ftype not in FIELD_TYPES:
        raise SchemaError(
            f"{where}: field {name!r} has unknown type {ftype!r} (one of {', '.join(FIELD_TYPES)})"
        )
    max_length = entry.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise SchemaError(f"{where}: field {name!r}: max_length must be a positive integer")
    rules = entry.get("rules") or []
    if not isinstance(rules, list):
        raise SchemaError(f"{where}: field {name!r}: rules must be a list")
    return FieldSpec(
        name=name,
        type=ftype,
        required=bool(entry.get("required", False)),
        max_length=max_length,
        aliases=tuple(entry.get("aliases") or ()),
        formats=tuple(entry.get("formats") or (("%Y-%m-%d",) if ftype == "date" else ())),
        rules=tuple(rules),
    )


def parse_schema(document: Any, *, where: str) -> Schema:
    if not isinstance(document, dict) or not isinstance(document.get("fields"), list):
        raise SchemaError(f"{where}: expected a mapping with a 'fields' list")
    fields = tuple(_field_from(entry, where) for entry in document["fields"])
    names = [f.name for f in fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SchemaError(f"{where}: duplicate field names: {', '.join(duplicates)}")
    key = document.get("key", "")
    if key not in names:
        raise SchemaError(f"{where}: key {key!r} is not one of the fields")
    return Schema(name=document.get("name", Path(where).stem), key=key, fields=fields, raw=document)


def load_schema_file(path: Path) -> Schema:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SchemaError(f"{path}: not valid YAML: {error_text(exc)}") from exc
    return parse_schema(document, where=str(path))


@lru_cache(maxsize=8)
def load_schema(name: str = "customers") -> Schema:
    return load_schema_file(SCHEMA_DIR / f"{name}.yaml")
