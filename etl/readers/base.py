"""What every reader hands to the pipeline: batches of raw text records and the records it set aside.

Invariant: every record of the file ends up either in a batch or in ``set_aside``
(a blank CSV line is not a record), so ``read = loaded + duplicates + quarantined``
can hold downstream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

LINE_COLUMN = "__line__"
"""Column carrying each record's 1-based line (CSV/NDJSON) or record index (JSON array)."""

# Error texts (one line each; tests assert them). Formatted with the named fields.
EMPTY_FILE = "file is empty"
BINARY_FILE = "not a text file (binary content near byte {offset})"
UNKNOWN_ENCODING = "cannot detect the text encoding (not UTF-8, UTF-16 or a known single-byte charset)"
NO_HEADER = "no header row found"
UNDECODABLE = "cannot decode the file as {encoding}: {problem}"
JSON_INVALID = "invalid JSON at line {line} column {column}: {problem}"
JSON_TRUNCATED = "JSON ends early (truncated file?) at line {line} column {column}"
JSON_NOT_RECORDS = "JSON must be an array of objects or an object holding one array of objects"
JSON_TWO_ARRAYS = "JSON object holds more than one array ({first!r} and {second!r}): which are the records?"
CSV_PARSE = "cannot parse CSV: {problem}"
CSV_RECORD_TOO_LONG = "cannot parse CSV: a record after record {records} is longer than {mib} MiB"

# Set-aside codes and messages (stored on QuarantinedRecord).
CODE_FIELD_COUNT = "row.field_count"
CODE_JSON = "row.json"
CODE_ENCODING = "row.encoding"
MSG_FIELD_COUNT = "expected {expected} fields, found {actual}"
MSG_JSON_BROKEN = "not a valid JSON object: {problem}"
MSG_JSON_NOT_OBJECT = "record is a JSON {kind}, not an object"
MSG_JSON_TOO_DEEP = "record nested too deeply to read"
MSG_ENCODING = "invalid {encoding} bytes in column {column!r}"
MSG_NOT_UNICODE = "column {column!r} is not valid Unicode (undecodable bytes or an unpaired \\u surrogate)"


class ReadError(ValueError):
    """The file cannot be read as records at all: the whole file is rejected."""


@dataclass(frozen=True)
class SetAside:
    """A record the reader could not turn into fields: it becomes a quarantined record."""

    line: int | None
    text: str
    code: str
    message: str
    seq: int | None = None
    """CSV only: order among the reader's invalid rows, to attach the line once it is known."""


@dataclass
class RawBatch:
    """Up to ``batch_size`` records, every column text (null when absent), plus ``LINE_COLUMN``."""

    frame: pl.DataFrame
    set_aside: list[SetAside] = field(default_factory=list)


@dataclass(frozen=True)
class LineFix:
    """CSV lines learnt only after the file was read (rare path: ragged or blank lines).

    ``shifts`` holds ``(provisional_line, add)`` steps: a record staged with a
    provisional line ``p`` really starts at ``p + add`` of the last step whose
    provisional line is ``<= p``. ``set_aside_lines`` maps a set-aside row's
    ``seq`` to its real line (None when the two parsers disagreed).
    """

    shifts: tuple[tuple[int, int], ...]
    set_aside_lines: dict[int, int | None]


@dataclass
class ReadInfo:
    """What the reader found out about the file, reported on the run."""

    format: str
    encoding: str
    compression: str | None = None
    delimiter: str | None = None
    json_path: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_report(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "encoding": self.encoding,
            "compression": self.compression,
            "delimiter": self.delimiter,
            "json_path": self.json_path,
        }


class RecordReader(Protocol):
    info: ReadInfo
    columns: list[str]
    """Source column names in file order (JSON: keys of the first batch, flattened)."""

    def batches(self) -> Iterator[RawBatch]: ...

    def line_fix(self) -> LineFix | None:
        """After ``batches()`` is exhausted: corrections to the provisional lines, if any."""
        ...

    @property
    def bytes_read(self) -> int: ...
