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
import pyarrow as pa

from dataflow.readers.csv_arrow import lines_shift
from dataflow.readers.texts import (  # noqa: F401  (re-exported: the readers' public names)
    BINARY_FILE,
    CODE_ENCODING,
    CODE_FIELD_COUNT,
    CODE_JSON,
    CORRUPT_GZIP,
    CSV_PARSE,
    CSV_RECORD_TOO_LONG,
    DECOMPRESSED_TOO_BIG,
    DUPLICATE_HEADER,
    EMPTY_FILE,
    FILE_TOO_BIG,
    JSON_INVALID,
    JSON_NOT_RECORDS,
    JSON_TRUNCATED,
    JSON_TWO_ARRAYS,
    LINE_COLUMN,
    MSG_ENCODING,
    MSG_FIELD_COUNT,
    MSG_JSON_BROKEN,
    MSG_JSON_NOT_OBJECT,
    MSG_JSON_TOO_DEEP,
    MSG_NOT_UNICODE,
    NO_HEADER,
    UNDECODABLE,
    UNKNOWN_ENCODING,
    ReadError,
)


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

    def corrected(self, line: int) -> int:
        """The real line of a record staged with provisional ``line``."""
        corrected: int = lines_shift(pa.array([line], pa.int64()), self.shifts)[0].as_py()
        return corrected


@dataclass
class ReadInfo:
    """What the reader found out about the file, reported on the run."""

    format: str
    encoding: str
    compression: str | None = None
    delimiter: str | None = None
    json_path: str | None = None
    warnings: list[str] = field(default_factory=list)
    max_bytes: int = 0
    """Most (decompressed) bytes the file may hold; 0: no limit (``INGEST_MAX_BYTES``). Not reported."""

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
