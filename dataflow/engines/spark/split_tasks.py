"""Executor side of the Spark engine's split read: byte ranges of one CSV file, parsed in parallel.

Shipped by value (cloudpickle) with :mod:`dataflow.readers.csv_arrow`, the CSV core
the Polars engine runs: executors need pyarrow and numpy, not this project.
The driver side, and why the split is exact, is :mod:`dataflow.engines.spark.split`.

1. :func:`range_scan` counts the quote characters and newlines of a range
   and finds, for either quote parity at its start, the first place after a
   newline where a record may begin;
2. :func:`range_parse` parses the bytes from one record start to the next
   with :class:`~dataflow.readers.csv_arrow.ArrowCsvScan`, writes the records to
   one Parquet part and checks, with a sentinel row after the range, that
   the parser ended the range outside any quoted value (the next range's
   start is then a real record start).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataflow.readers.csv_arrow import (
    UTF8_FAMILY,
    ArrowCsvScan,
    CsvDialect,
    InvalidRow,
    batch_decode,
    batches_gather,
    invalid_row_lines,
    line_shifts,
    lines_shift,
)
from dataflow.readers.texts import CODE_ENCODING, CODE_FIELD_COUNT, LINE_COLUMN, ReadError

SCAN_CHUNK = 4 << 20
ORD_COLUMN = "__ord__"
"""``index << ORD_SHIFT`` + the row's number among the range's parsed rows: its reader batch, later."""
ORD_SHIFT = 40
SENTINEL_MARK = "\x00etl-range-end\x00"
QUOTE, NEWLINE = ord('"'), ord("\n")


@dataclass(frozen=True)
class RangeScan:
    """What the driver needs of one range ``[start, end)`` to place the record starts."""

    index: int
    start: int
    end: int
    quotes: int
    newlines: int
    lone_cr: int
    """Carriage returns not followed by a newline: line numbers would not follow ``\\n``."""
    after_newline: bool
    """The byte before ``start`` is a newline."""
    starts: tuple[tuple[int, int] | None, tuple[int, int] | None]
    """For an even (0) or odd (1) number of quotes before ``start``: the first offset after a
    newline preceded by an even number of quotes in all, and the newlines from ``start`` to it."""


def range_scan(spec: tuple[int, int, int], *, path: str) -> RangeScan:
    """Counts over ``[start, end)``; numpy looks for the record starts in the first chunks only."""
    index, start, end = spec
    quotes = newlines = lone_cr = 0
    starts: list[tuple[int, int] | None] = [None, None]
    with open(path, "rb") as fh:
        after_newline = True
        if start > 0:
            fh.seek(start - 1)
            after_newline = fh.read(1) == b"\n"
        pos = start
        last = b""
        while pos < end:
            chunk = fh.read(min(SCAN_CHUNK, end - pos))
            if not chunk:
                break
            if starts[0] is None or starts[1] is None:
                data = np.frombuffer(chunk, dtype=np.uint8)
                at = np.flatnonzero(data == NEWLINE)
                if at.size:
                    before = np.cumsum(data == QUOTE, dtype=np.int64)[at] + quotes
                    for parity in (0, 1):
                        if starts[parity] is None:
                            hits = np.flatnonzero((before & 1) == parity)
                            if hits.size:
                                k = int(hits[0])
                                starts[parity] = (pos + int(at[k]) + 1, newlines + k + 1)
            if last == b"\r" and chunk[:1] == b"\n":
                lone_cr -= 1  # a CRLF cut by the chunk boundary was counted as a lone CR
            quotes += chunk.count(b'"')
            newlines += chunk.count(b"\n")
            lone_cr += chunk.count(b"\r") - chunk.count(b"\r\n")
            last = chunk[-1:]
            pos += len(chunk)
        if last == b"\r" and fh.read(1) == b"\n":
            lone_cr -= 1  # the range ends between the CR and the LF
    return RangeScan(
        index=index,
        start=start,
        end=end,
        quotes=quotes,
        newlines=newlines,
        lone_cr=lone_cr,
        after_newline=after_newline,
        starts=(starts[0], starts[1]),
    )


@dataclass(frozen=True)
class RangeSpec:
    """One range to parse: from a record start to the next one (or the end of the file)."""

    index: int
    begin: int
    end: int
    first_line: int
    last: bool


@dataclass
class RangeParsed:
    """What a range gave: its part, its counts, its set-aside records (few), or why it failed."""

    index: int
    part: str
    ok: bool = True
    problem: str = ""
    """Why the range cannot stand for its bytes (the driver then reads the file itself)."""
    rows: int = 0
    """Rows pyarrow parsed with the header's width (blank ones included): the reader batches count these."""
    records: int = 0
    set_aside: list[tuple[int | None, str, str, str]] = field(default_factory=list)
    """``(line, text, code, message)``."""
    warnings: list[str] = field(default_factory=list)


class _RangeStream(io.RawIOBase):
    """``length`` bytes of a file from its current position, then ``tail``."""

    def __init__(self, raw: IO[bytes], length: int, tail: bytes) -> None:
        self._raw = raw
        self._left = length
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left > 0:
            data = self._raw.read(min(len(buffer), self._left))
            self._left -= len(data)
            if not data:
                self._left = 0
        else:
            data, self._tail = self._tail[: len(buffer)], self._tail[len(buffer) :]
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _open_range(path: str, spec: RangeSpec, tail: bytes) -> IO[bytes]:
    fh = open(path, "rb")  # noqa: SIM115  (closed with the stream)
    fh.seek(spec.begin)
    return io.BufferedReader(_RangeStream(fh, spec.end - spec.begin, tail), buffer_size=1 << 20)


def sentinel(dialect: CsvDialect) -> str:
    """A row no file holds, one field too many: pyarrow reports it as invalid, with this text."""
    return SENTINEL_MARK + dialect.delimiter * dialect.width


def part_schema(dialect: CsvDialect) -> pa.Schema:
    names = [f"_c{i}" for i in range(dialect.width)]
    return pa.schema(
        [*((n, pa.string()) for n in names), (LINE_COLUMN, pa.int64()), (ORD_COLUMN, pa.int64())]
    )


def range_parse(
    spec: RangeSpec, *, path: str, dialect: CsvDialect, folder: str, batch_size: int
) -> RangeParsed:
    """Parse one range into ``folder/part-<index>.parquet`` with the shared CSV core."""
    part = str(Path(folder) / f"part-{spec.index:05d}.parquet")
    result = RangeParsed(index=spec.index, part=part)
    encoding = "utf-8" if dialect.encoding in UTF8_FAMILY else dialect.encoding  # no BOM in the middle
    tail = b"" if spec.last else sentinel(dialect).encode(encoding)
    scan = ArrowCsvScan(lambda: _open_range(path, spec, tail), dialect=dialect)
    schema = part_schema(dialect)
    invalid: list[InvalidRow] = []
    undecodable: list[tuple[int, str, str]] = []
    line = spec.first_line
    try:
        with pq.ParquetWriter(part, schema) as writer:
            for batch in batches_gather(scan.batches(), batch_size):
                decoded = batch_decode(batch, dialect=dialect, first_line=line)
                line = decoded.next_line
                invalid.extend(scan.invalid_take())
                undecodable.extend(decoded.undecodable)
                ords = pc.add(decoded.kept.cast(pa.int64()), (spec.index << ORD_SHIFT) + result.rows)
                result.rows += batch.num_rows
                result.records += decoded.records.num_rows
                writer.write_batch(
                    pa.RecordBatch.from_arrays([*decoded.records.columns, ords], schema=schema)
                )
    except ReadError as exc:  # the driver's read gives the file's own message (record counts are global)
        return RangeParsed(index=spec.index, part=part, ok=False, problem=str(exc))
    invalid.extend(scan.invalid_take())
    if not spec.last:
        if not invalid or invalid[-1].text != sentinel(dialect):
            problem = "a range ended inside a quoted value (quote characters outside quoted fields?)"
            return RangeParsed(index=spec.index, part=part, ok=False, problem=problem)
        invalid.pop()
    _set_aside(result, spec=spec, path=path, dialect=dialect, invalid=invalid, undecodable=undecodable)
    return result


def _set_aside(
    result: RangeParsed,
    *,
    spec: RangeSpec,
    path: str,
    dialect: CsvDialect,
    invalid: list[InvalidRow],
    undecodable: list[tuple[int, str, str]],
) -> None:
    """Set-aside records with their real lines: the line pass over the range, as the Polars reader's."""
    lines: list[int | None] = [None] * len(invalid)
    shifts: tuple[tuple[int, int], ...] = ()
    if invalid:
        text = io.TextIOWrapper(
            _open_range(path, spec, b""), encoding=dialect.encoding, errors="replace", newline=""
        )
        with text:
            found = [
                (spec.first_line - 1 + at, span) for at, span in invalid_row_lines(text, dialect=dialect)
            ]
        if len(found) == len(invalid):
            lines = [at for at, _span in found]
            shifts = line_shifts(found)
        else:
            result.warnings.append(
                f"line numbers may be approximate: {len(invalid)} invalid rows, "
                f"{len(found)} found by the line pass"
            )
    for row, at in zip(invalid, lines, strict=True):
        if not row.blank:
            result.set_aside.append((at, row.text, CODE_FIELD_COUNT, row.message(dialect=dialect)))
    if shifts:
        table = pq.read_table(result.part)
        fixed = lines_shift(table.column(LINE_COLUMN).combine_chunks(), shifts)
        table = table.set_column(table.schema.get_field_index(LINE_COLUMN), LINE_COLUMN, fixed)
        pq.write_table(table, result.part)
        undecodable = [
            (int(lines_shift(pa.array([at], pa.int64()), shifts)[0].as_py()), shown, message)
            for at, shown, message in undecodable
        ]
    for at, shown, message in undecodable:
        result.set_aside.append((at, shown, CODE_ENCODING, message))
