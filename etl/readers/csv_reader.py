"""CSV in bounded batches with pyarrow's streaming reader, ragged rows set aside.

Why pyarrow and not Polars' own reader (see README, "Ingest → reader choice"):
Polars pads short rows with nulls and can only fail on or truncate long rows,
and names no line; pyarrow's ``invalid_row_handler`` hands us every row with
the wrong field count (with its raw text) and gives Arrow batches Polars wraps
without a copy.

Memory: pyarrow reads up to 32 blocks ahead of the batch we consume (its
background block generator), so its block is kept small (``BLOCK_BYTES``)
and its batches are gathered into ``batch_size`` records here; with blocks
sized to the batch, the read-ahead alone held ~550 MiB, and a 5M-row file
peaked 1.78x a 1M-row one (README, "Benchmarks"). A record longer than a
block restarts the read with a larger block after the records already
handed out (``skip_rows_after_names``), up to ``MAX_BLOCK``.

Line numbers: pyarrow's streaming reader does not say where an invalid row
was. Each kept record gets a provisional line (header lines + records before
it + newlines inside earlier quoted values). When the file had invalid or
blank rows, one more pass with the stdlib ``csv`` module (the error path
only) finds their real lines, and :class:`LineFix` corrects the provisional
ones.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.readers.base import (
    CODE_ENCODING,
    CODE_FIELD_COUNT,
    CSV_PARSE,
    CSV_RECORD_TOO_LONG,
    LINE_COLUMN,
    MSG_ENCODING,
    MSG_FIELD_COUNT,
    NO_HEADER,
    UNDECODABLE,
    LineFix,
    RawBatch,
    ReadError,
    ReadInfo,
    SetAside,
)
from etl.readers.detect import CountingReader, open_bytes

UTF8_FAMILY = {"utf-8", "utf_8", "utf-8-sig", "utf_8_sig"}
BLOCK_BYTES = 1 << 20
"""pyarrow's block: its read-ahead (32 blocks) and the longest record it can parse (then it grows)."""
MAX_BLOCK = 256 << 20
BLOCK_GROWTH = 16
STRADDLING = "straddling object straddles two block boundaries"


def unique_names(names: list[str]) -> list[str]:
    """Header names made unique (``a``, ``a_2``) so a frame can hold them; mapping reports the clash."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}_{count}")
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
        self.header = header
        self.columns = unique_names(header)
        self.block_size = BLOCK_BYTES
        # Invalid rows not yet handed out: (text, actual fields, blank). Only their count is kept after.
        self._pending: list[tuple[str, int, bool]] = []
        self._invalid_count = 0
        self._invalid_seen = 0  # rows pyarrow gave the handler, handed out or not (for a restart)
        self._counter: CountingReader | None = None
        self._needs_fix = False

    @property
    def bytes_read(self) -> int:
        return self._counter.count if self._counter else 0

    def _on_invalid(self, row: pacsv.InvalidRow) -> str:
        self._pending.append((row.text, row.actual_columns, not row.text.strip()))
        self._invalid_seen += 1
        return "skip"

    def _open(self, *, skip_records: int = 0) -> pacsv.CSVStreamingReader:
        if self._counter is not None:
            self._counter.close()
        stream, self._counter, _ = open_bytes(self.path)
        encoding = None if self.info.encoding in UTF8_FAMILY else self.info.encoding
        names = [f"c{i}" for i in range(len(self.header))]
        read_options = pacsv.ReadOptions(
            column_names=names,
            skip_rows=self.header_lines,
            skip_rows_after_names=skip_records,
            block_size=self.block_size,
            encoding=encoding or "utf8",
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.info.delimiter,
            quote_char='"',
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=self._on_invalid,
        )
        # Binary columns: invalid UTF-8 in one value is that record's problem, not the file's.
        convert_options = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.binary()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            check_utf8=False,
        )
        return pacsv.open_csv(
            stream, read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )

    def _error(self, exc: Exception) -> ReadError:
        if isinstance(exc, UnicodeDecodeError):
            return ReadError(UNDECODABLE.format(encoding=self.info.encoding, problem=exc.reason))
        return ReadError(CSV_PARSE.format(problem=str(exc).splitlines()[0]))

    def _new_set_aside(self) -> list[SetAside]:
        out = []
        first_seq = self._invalid_count
        for offset, (text, actual, blank) in enumerate(self._pending):
            seq = first_seq + offset
            self._needs_fix = True
            if blank:
                continue
            message = MSG_FIELD_COUNT.format(expected=len(self.header), actual=actual)
            out.append(SetAside(line=None, text=text, code=CODE_FIELD_COUNT, message=message, seq=seq))
        self._invalid_count += len(self._pending)
        self._pending = []
        return out

    def _to_frame(self, batch: pa.RecordBatch, first_line: int) -> tuple[pl.DataFrame, list[SetAside], int]:
        newlines = None
        bad_rows: dict[int, str] = {}
        columns: list[pa.Array] = []
        for index, column in enumerate(batch.columns):
            count = pc.count_substring(column, "\n")
            newlines = count if newlines is None else pc.add(newlines, count)
            try:
                columns.append(column.cast(pa.string()))
            except pa.ArrowInvalid:
                values = column.to_pylist()
                decoded = []
                for row, raw in enumerate(values):
                    try:
                        decoded.append(raw.decode("utf-8"))
                    except UnicodeDecodeError:
                        bad_rows.setdefault(row, self.columns[index])
                        decoded.append(raw.decode("utf-8", errors="backslashreplace"))
                columns.append(pa.array(decoded, pa.string()))
        frame = pl.from_arrow(pa.RecordBatch.from_arrays(columns, names=self.columns))
        assert isinstance(frame, pl.DataFrame)
        if newlines is not None:
            span = pl.Series(newlines).cast(pl.Int64) + 1
        else:
            span = pl.Series([1] * frame.height, dtype=pl.Int64)
        ends = span.cum_sum()
        frame = frame.with_columns((ends - span + first_line).alias(LINE_COLUMN))
        next_line = first_line + int(ends[-1]) if frame.height else first_line
        set_aside = []
        if bad_rows:
            lines = frame[LINE_COLUMN]
            for row, column_name in sorted(bad_rows.items()):
                text = (self.info.delimiter or ",").join(str(v) for v in frame.row(row)[:-1])
                message = MSG_ENCODING.format(encoding="UTF-8", column=column_name)
                line = int(lines[row])
                set_aside.append(SetAside(line=line, text=text, code=CODE_ENCODING, message=message))
            keep = pl.Series([i not in bad_rows for i in range(frame.height)])
            frame = frame.filter(keep)
        # A line with no values at all (blank, or only delimiters) is not a record.
        frame = frame.filter(~pl.all_horizontal(pl.col(c) == "" for c in self.columns))
        return frame, set_aside, next_line

    def _arrow_batches(self) -> Iterator[pa.RecordBatch]:
        """pyarrow's record batches, in file order, each record once.

        A record longer than the block makes pyarrow fail; the read then starts
        again with a larger block, skipping the records (valid and invalid)
        it already handed out.
        """
        handed_out = 0
        reader: pacsv.CSVStreamingReader | None = None
        while True:
            try:
                if reader is None:  # open_csv parses the first block already
                    reader = self._open(skip_records=handed_out + self._invalid_seen)
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                if STRADDLING not in str(exc):
                    raise self._error(exc) from exc
                if self.block_size >= MAX_BLOCK:
                    records = handed_out + self._invalid_seen
                    raise ReadError(CSV_RECORD_TOO_LONG.format(records=records, mib=MAX_BLOCK >> 20)) from exc
                self.block_size = min(self.block_size * BLOCK_GROWTH, MAX_BLOCK)
                reader = None
                continue
            except UnicodeDecodeError as exc:
                raise self._error(exc) from exc
            handed_out += batch.num_rows
            yield batch

    def batches(self) -> Iterator[RawBatch]:
        line = self.header_lines + 1
        gathered: list[pa.RecordBatch] = []
        rows = 0
        for small in self._arrow_batches():
            gathered.append(small)
            rows += small.num_rows
            while rows >= self.batch_size:
                whole = pa.concat_batches(gathered)
                rest = whole.slice(self.batch_size)
                gathered, rows = ([rest] if rest.num_rows else []), rest.num_rows
                frame, bad, line = self._to_frame(whole.slice(0, self.batch_size), line)
                yield RawBatch(frame=frame, set_aside=self._new_set_aside() + bad)
        if gathered:
            frame, bad, line = self._to_frame(pa.concat_batches(gathered), line)
            yield RawBatch(frame=frame, set_aside=self._new_set_aside() + bad)
        tail = self._new_set_aside()
        if tail:
            yield RawBatch(frame=pl.DataFrame(schema=dict.fromkeys(self.columns, pl.String)), set_aside=tail)

    def line_fix(self) -> LineFix | None:
        """Real lines of invalid/blank rows from a stdlib ``csv`` pass; None when none occurred."""
        if not self._needs_fix:
            return None
        stream, _counter, _ = open_bytes(self.path)
        text = io.TextIOWrapper(stream, encoding=self.info.encoding, errors="replace", newline="")
        width = len(self.header)
        # The stdlib refuses fields over 128 KiB by default; pyarrow reads up to MAX_BLOCK.
        csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_BLOCK))
        found: list[tuple[int, int]] = []  # (line, span) of each invalid or blank row
        with text:
            reader = csv.reader(text, delimiter=self.info.delimiter or ",", strict=False)
            for _ in range(self.header_lines):
                next(reader, None)
            previous = reader.line_num
            for row in reader:
                if row and len(row) != width:
                    found.append((previous + 1, reader.line_num - previous))
                previous = reader.line_num
        if len(found) != self._invalid_count:
            # The two parsers disagree on this file: keep provisional lines, say so.
            self.info.warnings.append(
                f"line numbers may be approximate: {self._invalid_count} invalid rows, "
                f"{len(found)} found by the line pass"
            )
            return LineFix(shifts=(), set_aside_lines=dict.fromkeys(range(self._invalid_count)))
        shifts: list[tuple[int, int]] = []
        added = 0
        for line, span in found:
            # Records after this row were numbered as if it were not there.
            shifts.append((line - added, added + span))
            added += span
        return LineFix(shifts=tuple(shifts), set_aside_lines={i: found[i][0] for i in range(len(found))})
