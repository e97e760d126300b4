"""CSV in bounded batches with pyarrow's streaming reader, ragged rows set aside.

Why pyarrow and not Polars' own reader (see README, "Ingest → reader choice"):
Polars pads short rows with nulls and can only fail on or truncate long rows,
and names no line; pyarrow's ``invalid_row_handler`` hands us every row with
the wrong field count (with its raw text) and gives Arrow batches Polars wraps
without a copy.

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
MIN_BLOCK = 1 << 20
MAX_BLOCK = 256 << 20


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
        rows_in_sample = max(sample_text.count("\n") - self.header_lines, 1)
        avg_row = max(len(sample_text.encode()) // (rows_in_sample + self.header_lines), 16)
        self.block_size = min(max(avg_row * batch_size, MIN_BLOCK), MAX_BLOCK)
        # Invalid rows not yet handed out: (text, actual fields, blank). Only their count is kept after.
        self._pending: list[tuple[str, int, bool]] = []
        self._invalid_count = 0
        self._counter: CountingReader | None = None
        self._needs_fix = False

    @property
    def bytes_read(self) -> int:
        return self._counter.count if self._counter else 0

    def _on_invalid(self, row: pacsv.InvalidRow) -> str:
        self._pending.append((row.text, row.actual_columns, not row.text.strip()))
        return "skip"

    def _open(self) -> pacsv.CSVStreamingReader:
        stream, self._counter, _ = open_bytes(self.path)
        encoding = None if self.info.encoding in UTF8_FAMILY else self.info.encoding
        names = [f"c{i}" for i in range(len(self.header))]
        read_options = pacsv.ReadOptions(
            column_names=names,
            skip_rows=self.header_lines,
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
        try:
            return pacsv.open_csv(
                stream,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._error(exc) from exc

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

    def batches(self) -> Iterator[RawBatch]:
        reader = self._open()
        line = self.header_lines + 1
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise self._error(exc) from exc
            frame, bad, line = self._to_frame(batch, line)
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
