"""The CSV core both engines run: pyarrow's streaming parser and the decoding of its batches.

Only the stdlib, pyarrow, :mod:`dataflow.readers.texts` and :mod:`common.errors` here, no
Polars and no Django: the Polars engine runs this over a whole file
(:class:`dataflow.readers.csv_reader.CsvReader`), the Spark engine ships it by value
to its executors, which run it over byte ranges of the same file
(:mod:`dataflow.engines.spark.split`). One parser, one decoding, one line count.

Memory: pyarrow reads up to 32 blocks ahead of the batch we consume (its
background block generator), so its block is kept small (``BLOCK_BYTES``)
and its batches are gathered into batches of the size asked for
(:func:`batches_gather`); with blocks sized to the batch, the read-ahead alone
held ~550 MiB and a 5M-row file peaked 1.78x a 1M-row one. A record longer
than a block restarts the read with a larger block after the records already
handed out (``skip_rows_after_names``), up to ``MAX_BLOCK``.

Line numbers: the streaming reader does not say where an invalid row was.
Each record gets a provisional line (first line + records before it +
newlines inside earlier quoted values); when invalid or blank rows occurred,
one more pass with the stdlib ``csv`` module (:func:`invalid_row_lines`, the
error path only) finds their real lines and :func:`line_shifts` the
corrections of the provisional ones.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from common.errors import error_text
from dataflow.readers.texts import (
    CSV_PARSE,
    CSV_RECORD_TOO_LONG,
    LINE_COLUMN,
    MSG_ENCODING,
    MSG_FIELD_COUNT,
    UNDECODABLE,
    ReadError,
)

UTF8_FAMILY = {"utf-8", "utf_8", "utf-8-sig", "utf_8_sig"}
BLOCK_BYTES = 1 << 20
"""pyarrow's block: its read-ahead (32 blocks) and the longest record it parses at first (then it grows)."""
MAX_BLOCK = 256 << 20
BLOCK_GROWTH = 16
STRADDLING = "straddling object straddles two block boundaries"


@dataclass(frozen=True)
class CsvDialect:
    """How to parse the records of one CSV file (learnt from its first bytes)."""

    delimiter: str
    encoding: str
    """Python codec name of the file's bytes."""
    columns: tuple[str, ...]
    """The header's names made unique, one per field."""

    @property
    def width(self) -> int:
        return len(self.columns)


@dataclass(frozen=True)
class InvalidRow:
    """A row pyarrow found with the wrong number of fields (a blank line is one, of one empty field)."""

    text: str
    actual: int

    @property
    def blank(self) -> bool:
        """Only whitespace: not a record (nothing is set aside), but a line the line pass counts."""
        return not self.text.strip()

    def message(self, *, dialect: CsvDialect) -> str:
        return MSG_FIELD_COUNT.format(expected=dialect.width, actual=self.actual)


class ArrowCsvScan:
    """pyarrow's record batches of one byte stream (a whole file, or a range of one), each record once.

    Every field is binary (invalid UTF-8 in one value is that record's
    problem, decoded in :func:`batch_decode`); rows with the wrong number of
    fields are skipped by pyarrow and collected in ``invalid``.
    """

    def __init__(
        self, open_stream: Callable[[], IO[bytes]], *, dialect: CsvDialect, skip_rows: int = 0
    ) -> None:
        self.open_stream = open_stream
        self.dialect = dialect
        self.skip_rows = skip_rows
        self.block_size = BLOCK_BYTES
        self.invalid: list[InvalidRow] = []
        """Invalid rows not yet taken (:meth:`invalid_take`)."""
        self.invalid_seen = 0
        """Every invalid row pyarrow reported, taken or not (a restart skips them too)."""
        self._stream: IO[bytes] | None = None

    def _on_invalid(self, row: pacsv.InvalidRow) -> str:
        self.invalid.append(InvalidRow(text=row.text, actual=row.actual_columns))
        self.invalid_seen += 1
        return "skip"

    def invalid_take(self) -> list[InvalidRow]:
        taken, self.invalid = self.invalid, []
        return taken

    def _open(self, *, skip_records: int) -> pacsv.CSVStreamingReader:
        self.close()
        self._stream = self.open_stream()
        encoding = self.dialect.encoding
        names = [f"c{i}" for i in range(self.dialect.width)]
        read_options = pacsv.ReadOptions(
            column_names=names,
            skip_rows=self.skip_rows,
            skip_rows_after_names=skip_records,
            block_size=self.block_size,
            encoding="utf8" if encoding in UTF8_FAMILY else encoding,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.dialect.delimiter,
            quote_char='"',
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=self._on_invalid,
        )
        convert_options = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.binary()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            check_utf8=False,
        )
        return pacsv.open_csv(
            self._stream,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _error(self, exc: Exception) -> ReadError:
        if isinstance(exc, UnicodeDecodeError):
            return ReadError(UNDECODABLE.format(encoding=self.dialect.encoding, problem=exc.reason))
        return ReadError(CSV_PARSE.format(problem=error_text(exc)))

    def batches(self) -> Iterator[pa.RecordBatch]:
        """pyarrow's batches in stream order; a record longer than the block restarts with a larger one."""
        handed_out = 0
        reader: pacsv.CSVStreamingReader | None = None
        try:
            while True:
                try:
                    if reader is None:  # open_csv parses the first block already
                        reader = self._open(skip_records=handed_out + self.invalid_seen)
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    if STRADDLING not in str(exc):
                        raise self._error(exc) from exc
                    if self.block_size >= MAX_BLOCK:
                        records = handed_out + self.invalid_seen
                        message = CSV_RECORD_TOO_LONG.format(records=records, mib=MAX_BLOCK >> 20)
                        raise ReadError(message) from exc
                    self.block_size = min(self.block_size * BLOCK_GROWTH, MAX_BLOCK)
                    reader = None
                    continue
                except UnicodeDecodeError as exc:
                    raise self._error(exc) from exc
                handed_out += batch.num_rows
                yield batch
        finally:
            self.close()


def batches_gather(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Batches of exactly ``size`` rows (the last one fewer) out of batches of any size."""
    gathered: list[pa.RecordBatch] = []
    rows = 0
    for small in batches:
        gathered.append(small)
        rows += small.num_rows
        while rows >= size:
            whole = pa.concat_batches(gathered)
            rest = whole.slice(size)
            gathered, rows = ([rest] if rest.num_rows else []), rest.num_rows
            yield whole.slice(0, size)
    if gathered:
        yield pa.concat_batches(gathered)


@dataclass
class DecodedBatch:
    """A parsed batch as text records, each with its (provisional) line."""

    records: pa.RecordBatch
    """One string column per header name, then ``LINE_COLUMN`` (int64)."""
    kept: pa.Array
    """Row numbers in the parsed batch of the records kept (blank and undecodable ones are not)."""
    undecodable: list[tuple[int, str, str]] = field(default_factory=list)
    """``(line, text, message)`` of records with bytes invalid in UTF-8: set aside."""
    next_line: int = 0
    """The provisional line of the record after this batch."""


def _line_breaks(column: pa.Array) -> pa.Array:
    """Line breaks in each value: LF, CRLF or a lone CR (a file with CR endings quotes those), as
    pyarrow splits records and the line pass (Python's ``csv``) counts lines."""
    breaks = pc.count_substring(column, "\n")
    returns = pc.count_substring(column, "\r")
    if not pc.max(returns).as_py():  # no CR at all (the usual case): LF is the whole count
        return breaks
    return pc.subtract(pc.add(breaks, returns), pc.count_substring(column, "\r\n"))


def batch_decode(batch: pa.RecordBatch, *, dialect: CsvDialect, first_line: int) -> DecodedBatch:
    """Binary fields → text; each record's provisional line; blank and undecodable records left out."""
    newlines = None
    bad_rows: dict[int, str] = {}
    columns: list[pa.Array] = []
    for index, column in enumerate(batch.columns):
        count = _line_breaks(column)
        newlines = count if newlines is None else pc.add(newlines, count)
        try:
            columns.append(column.cast(pa.string()))
        except pa.ArrowInvalid:
            decoded = []
            for row, raw in enumerate(column.to_pylist()):
                try:
                    decoded.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    bad_rows.setdefault(row, dialect.columns[index])
                    decoded.append(raw.decode("utf-8", errors="backslashreplace"))
            columns.append(pa.array(decoded, pa.string()))
    rows = batch.num_rows
    if newlines is not None and rows:
        span = pc.add(newlines.cast(pa.int64()), 1)
        ends = pc.cumulative_sum(span)
        lines = pc.add(pc.subtract(ends, span), first_line)
        next_line = first_line + ends[-1].as_py()
    else:
        lines = pa.array([], pa.int64()) if not rows else pa.array(range(first_line, first_line + rows))
        next_line = first_line + rows
    records = pa.RecordBatch.from_arrays([*columns, lines], names=[*dialect.columns, LINE_COLUMN])
    undecodable = []
    for row, column_name in sorted(bad_rows.items()):
        text = dialect.delimiter.join(str(c[row]) for c in columns)
        message = MSG_ENCODING.format(encoding="UTF-8", column=column_name)
        undecodable.append((lines[row].as_py(), text, message))
    # A line with no values at all (blank, or only delimiters) is not a record.
    keep = pc.invert(_all_empty(columns)) if columns else pa.array([True] * rows)
    if bad_rows:
        keep = pc.and_(keep, pa.array([i not in bad_rows for i in range(rows)]))
    kept = pc.indices_nonzero(keep)
    return DecodedBatch(
        records=records.take(kept), kept=kept, undecodable=undecodable, next_line=int(next_line)
    )


def _all_empty(columns: list[pa.Array]) -> pa.Array:
    empty = pc.equal(columns[0], "")
    for column in columns[1:]:
        empty = pc.and_(empty, pc.equal(column, ""))
    return empty


def invalid_row_lines(text: IO[str], *, dialect: CsvDialect, skip_rows: int = 0) -> list[tuple[int, int]]:
    """``(line, lines spanned)`` of every invalid or blank row, by a stdlib ``csv`` pass (error path)."""
    # The stdlib refuses fields over 128 KiB by default; pyarrow reads up to MAX_BLOCK.
    csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_BLOCK))
    found: list[tuple[int, int]] = []
    reader = csv.reader(text, delimiter=dialect.delimiter, strict=False)
    for _ in range(skip_rows):
        next(reader, None)
    previous = reader.line_num
    for row in reader:
        if row and len(row) != dialect.width:
            found.append((previous + 1, reader.line_num - previous))
        previous = reader.line_num
    return found


def line_shifts(found: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """``(provisional_line, add)`` steps: a record at provisional line ``p`` is at ``p + add``
    of the last step whose provisional line is ``<= p`` (records after an invalid row were
    numbered as if it were not there)."""
    shifts: list[tuple[int, int]] = []
    added = 0
    for line, span in found:
        shifts.append((line - added, added + span))
        added += span
    return tuple(shifts)


def lines_shift(lines: pa.Array, shifts: tuple[tuple[int, int], ...]) -> pa.Array:
    """Provisional lines corrected by :func:`line_shifts` steps (``load.staging_fix_lines`` in SQL)."""
    if not shifts or not len(lines):
        return lines
    starts = np.array([start for start, _add in shifts], dtype=np.int64)
    adds = np.array([add for _start, add in shifts], dtype=np.int64)
    values = lines.to_numpy(zero_copy_only=False).astype(np.int64)
    step = np.searchsorted(starts, values, side="right") - 1  # the last step at or before each line
    return pa.array(values + np.where(step >= 0, adds[np.maximum(step, 0)], 0), pa.int64())
