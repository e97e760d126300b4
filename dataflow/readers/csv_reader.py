"""CSV in bounded batches with pyarrow's streaming reader, ragged rows set aside.

Why pyarrow and not Polars' own reader (see docs/ingest.md, "Reader choice"):
Polars pads short rows with nulls and can only fail on or truncate long rows,
and names no line; pyarrow's ``invalid_row_handler`` hands us every row with
the wrong field count (with its raw text) and gives Arrow batches Polars wraps
without a copy.

The parsing, decoding and line counting are :mod:`dataflow.readers.csv_arrow`'s,
shared with the Spark engine's executors; this module makes them the
pipeline's batches (Polars frames and :class:`SetAside` records). When the
file had invalid or blank rows, :meth:`CsvReader.line_fix` finds their real
lines once the file is read, and the corrections of the provisional lines
of the records staged so far.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl

from dataflow.readers.base import (
    CODE_ENCODING,
    CODE_FIELD_COUNT,
    DUPLICATE_HEADER,
    NO_HEADER,
    LineFix,
    RawBatch,
    ReadError,
    ReadInfo,
    SetAside,
)
from dataflow.readers.csv_arrow import (
    ArrowCsvScan,
    CsvDialect,
    InvalidRow,
    batch_decode,
    batches_gather,
    invalid_row_lines,
    line_shifts,
)
from dataflow.readers.detect import CountingReader, open_bytes

UNNAMED_COLUMN = "column_{position}"
"""A header field with no name (a trailing delimiter, ``a,,b``): named by its position from 1."""


def unique_names(names: list[str]) -> list[str]:
    """Header names made unique (``a``, ``a_2``) so a frame can hold them; mapping reports the clash.

    A blank name gets :data:`UNNAMED_COLUMN`: a frame would name it anyway (Polars: ``column_<i>``),
    and the report, the quarantined records and the lake must all say the same.
    """
    seen: dict[str, int] = {}
    out = []
    for position, given in enumerate(names, start=1):
        name = given if given.strip() else UNNAMED_COLUMN.format(position=position)
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}_{count}")
    return out


def duplicate_header_check(header: list[str]) -> None:
    """Two fields of one name: which one holds the value? The file is refused, naming the column."""
    first: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = name.strip()
        if key in first:
            raise ReadError(DUPLICATE_HEADER.format(column=key, first=first[key], second=position))
        first[key] = position


def set_aside_rows(rows: list[InvalidRow], *, dialect: CsvDialect, first_seq: int) -> list[SetAside]:
    """Invalid rows as set-aside records (a blank one is no record); ``seq`` attaches the line later."""
    out = []
    for offset, row in enumerate(rows):
        if row.blank:
            continue
        message = row.message(dialect=dialect)
        out.append(
            SetAside(line=None, text=row.text, code=CODE_FIELD_COUNT, message=message, seq=first_seq + offset)
        )
    return out


class CsvReader:
    def __init__(
        self, path: Path, *, info: ReadInfo, sample_text: str, batch_size: int, complete: bool
    ) -> None:
        self.path = path
        self.info = info
        self.batch_size = batch_size
        assert info.delimiter is not None
        reader = csv.reader(io.StringIO(sample_text.lstrip("\ufeff"), newline=""), delimiter=info.delimiter)
        header: list[str] = []
        for row in reader:
            if row:
                header = row
                break
        if not header or not any(h.strip() for h in header):
            raise ReadError(NO_HEADER)
        self.header_lines = reader.line_num
        # Nothing after the header: no records, whether or not the header ends in a newline
        # (pyarrow cannot skip an unterminated last line: "Could not skip initial 1 rows").
        self._no_records = complete and not any(row for row in reader)
        duplicate_header_check(header)
        self.header = header
        self.columns = unique_names(header)
        self.dialect = CsvDialect(
            delimiter=info.delimiter, encoding=info.encoding, columns=tuple(self.columns)
        )
        self._scan = ArrowCsvScan(self._open, dialect=self.dialect, skip_rows=self.header_lines)
        self._invalid_count = 0
        self._counter: CountingReader | None = None
        self._line_fix: LineFix | None = None

    @property
    def bytes_read(self) -> int:
        return self._counter.count if self._counter else 0

    @property
    def block_size(self) -> int:
        """pyarrow's block now (it grows only for a record longer than a block)."""
        return self._scan.block_size

    def _open(self) -> IO[bytes]:
        stream, self._counter, _ = open_bytes(self.path, limit=self.info.max_bytes)
        return stream

    def _new_set_aside(self) -> list[SetAside]:
        rows = self._scan.invalid_take()
        out = set_aside_rows(rows, dialect=self.dialect, first_seq=self._invalid_count)
        self._invalid_count += len(rows)
        return out

    def batches(self) -> Iterator[RawBatch]:
        if self._no_records:
            return
        line = self.header_lines + 1
        for batch in batches_gather(self._scan.batches(), self.batch_size):
            decoded = batch_decode(batch, dialect=self.dialect, first_line=line)
            line = decoded.next_line
            frame = pl.from_arrow(decoded.records)
            assert isinstance(frame, pl.DataFrame)
            bad = [
                SetAside(line=bad_line, text=text, code=CODE_ENCODING, message=message)
                for bad_line, text, message in decoded.undecodable
            ]
            yield RawBatch(frame=frame, set_aside=self._new_set_aside() + bad)
        tail = self._new_set_aside()
        if tail:
            yield RawBatch(frame=pl.DataFrame(schema=dict.fromkeys(self.columns, pl.String)), set_aside=tail)

    def line_fix(self) -> LineFix | None:
        """Real lines of invalid/blank rows from a stdlib ``csv`` pass; None when none occurred.

        The pass runs once per file: the engine's hooks and the load ask for the same fix.
        """
        if not self._invalid_count:
            return None
        if self._line_fix is None:
            self._line_fix = self._line_fix_find()
        return self._line_fix

    def _line_fix_find(self) -> LineFix:
        stream, _counter, _ = open_bytes(self.path, limit=self.info.max_bytes)
        text = io.TextIOWrapper(stream, encoding=self.info.encoding, errors="replace", newline="")
        with text:
            found = invalid_row_lines(text, dialect=self.dialect, skip_rows=self.header_lines)
        if len(found) != self._invalid_count:
            # The two parsers disagree on this file: keep provisional lines, say so.
            self.info.warnings.append(
                f"line numbers may be approximate: {self._invalid_count} invalid rows, "
                f"{len(found)} found by the line pass"
            )
            return LineFix(shifts=(), set_aside_lines=dict.fromkeys(range(self._invalid_count)))
        return LineFix(shifts=line_shifts(found), set_aside_lines={i: found[i][0] for i in range(len(found))})
