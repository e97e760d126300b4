"""JSON records in bounded batches: an array, an object holding one array, or NDJSON.

Nothing here recurses on the data: records are cut out of the stream one at a
time (``raw_decode``), flattened with an explicit stack, and a record nested
deeper than the stdlib decoder can go is skipped by a bracket scan and set
aside. An array cannot be resynchronised after a syntax error, so a broken or
truncated JSON document rejects the file; a broken NDJSON line is set aside.

Text that is not valid Unicode spoils one record, not the file: a document is
decoded with ``surrogateescape`` (an undecodable byte becomes a lone
surrogate), and a record holding a lone surrogate, from such a byte or from a
``\\udXXX`` escape, is set aside when its batch is built (Polars and
PostgreSQL store UTF-8 only).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from dataflow.readers.base import (
    CODE_ENCODING,
    CODE_JSON,
    JSON_NOT_RECORDS,
    JSON_TRUNCATED,
    JSON_TWO_ARRAYS,
    LINE_COLUMN,
    MSG_ENCODING,
    MSG_JSON_BROKEN,
    MSG_JSON_NOT_OBJECT,
    MSG_JSON_TOO_DEEP,
    MSG_NOT_UNICODE,
    UNDECODABLE,
    RawBatch,
    ReadError,
    ReadInfo,
    SetAside,
)
from dataflow.readers.detect import CountingReader, open_bytes
from dataflow.readers.json_text import CHUNK, TextBuffer

_SURROGATE = re.compile("[\ud800-\udfff]")
UTF8_FAMILY = {"utf-8", "utf_8", "utf-8-sig", "utf_8_sig"}


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def flatten(record: dict[str, Any]) -> dict[str, str | None]:
    """``{"contact": {"email": x}}`` → ``{"contact.email": x}``; lists stay JSON text.

    An explicit stack, not recursion: depth is bounded only by the decoder.
    """
    out: dict[str, str | None] = {}
    stack: list[tuple[str, Iterator[tuple[str, Any]]]] = [("", iter(record.items()))]
    while stack:
        prefix, items = stack[-1]
        for key, value in items:
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                stack.append((name, iter(value.items())))
                break
            out[name] = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else _scalar(value)
        else:
            stack.pop()
    return out


def records_frame(records: list[dict[str, str | None]], lines: list[int]) -> pl.DataFrame:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    data: dict[str, list[Any]] = {name: [r.get(name) for r in records] for name in columns}
    schema: dict[str, Any] = dict.fromkeys(columns, pl.String)
    data[LINE_COLUMN] = lines
    schema[LINE_COLUMN] = pl.Int64
    return pl.DataFrame(data, schema=schema)


class _Batcher:
    """Collects flattened records and set-aside rows until a batch is full."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.records: list[dict[str, str | None]] = []
        self.lines: list[int] = []
        self.set_aside: list[SetAside] = []

    def add(self, value: Any, line: int, text: Any) -> None:
        if not isinstance(value, dict):
            message = MSG_JSON_NOT_OBJECT.format(kind=_kind(value))
            self.set_aside.append(SetAside(line=line, text=str(text), code=CODE_JSON, message=message))
            return
        try:
            flat = flatten(value)
        except RecursionError:  # json.dumps of a very deep list inside the record
            self.set_aside.append(SetAside(line=line, text="", code=CODE_JSON, message=MSG_JSON_TOO_DEEP))
            return
        self.records.append(flat)
        self.lines.append(line)

    @property
    def full(self) -> bool:
        return len(self.records) + len(self.set_aside) >= self.batch_size

    def take(self) -> RawBatch:
        try:
            frame = records_frame(self.records, self.lines)
        except UnicodeEncodeError:  # rare: a lone surrogate somewhere in the batch
            self._set_aside_not_unicode()
            frame = records_frame(self.records, self.lines)
        batch = RawBatch(frame=frame, set_aside=self.set_aside)
        self.records, self.lines, self.set_aside = [], [], []
        return batch

    def _set_aside_not_unicode(self) -> None:
        records, lines = [], []
        for record, line in zip(self.records, self.lines, strict=True):
            column = next(
                (k for k, v in record.items() if _SURROGATE.search(k) or (v and _SURROGATE.search(v))), None
            )
            if column is None:
                records.append(record)
                lines.append(line)
                continue
            message = MSG_NOT_UNICODE.format(column=column.encode("utf-8", "backslashreplace").decode())
            # ensure_ascii writes each lone surrogate as its \\udcXX escape: the byte stays readable.
            text = json.dumps(record)
            self.set_aside.append(SetAside(line=line, text=text, code=CODE_ENCODING, message=message))
        self.set_aside.sort(key=lambda row: row.line or 0)
        self.records, self.lines = records, lines


class _PeekingReader:
    """Reads the first batch at once, so ``columns`` is known before ``batches()`` runs.

    Subclasses implement ``_batches()``; JSON readers need no line fixes (their
    line numbers are exact as they stream).
    """

    def __init__(self, path: Path, *, info: ReadInfo, batch_size: int) -> None:
        self.path = path
        self.info = info
        self.batch_size = batch_size
        self._counter: CountingReader | None = None
        self._iter = self._batches()
        self._first: RawBatch | None = next(self._iter, None)
        self.columns = [c for c in self._first.frame.columns if c != LINE_COLUMN] if self._first else []

    @property
    def bytes_read(self) -> int:
        return self._counter.count if self._counter else 0

    def batches(self) -> Iterator[RawBatch]:
        if self._first is not None:
            yield self._first
            self._first = None
        yield from self._iter

    def line_fix(self) -> None:
        return None

    def _batches(self) -> Iterator[RawBatch]:
        raise NotImplementedError


class JsonReader(_PeekingReader):
    """A JSON document: ``[...]`` or ``{"key": [...], ...}`` streamed one record at a time."""

    def _batches(self) -> Iterator[RawBatch]:
        stream, self._counter, _ = open_bytes(self.path, limit=self.info.max_bytes)
        # An undecodable byte becomes a lone surrogate: its record is set aside (``take``).
        text = io.TextIOWrapper(stream, encoding=self.info.encoding, errors="surrogateescape", newline="")
        with text:
            buf = TextBuffer(text, self.info.encoding)
            pos = buf.skip_ws(0)
            if pos < len(buf.buf) and buf.buf[pos] == "\ufeff":
                pos = buf.skip_ws(pos + 1)
            if pos >= len(buf.buf):
                raise buf.error(pos, "", JSON_TRUNCATED)
            opener = buf.buf[pos]
            if opener == "[":
                self.info.json_path = "$"
                yield from self._array(buf, pos)
            elif opener == "{":
                yield from self._wrapped(buf, pos)
            else:
                raise ReadError(JSON_NOT_RECORDS)
            end = buf.skip_ws(buf.pos_after)
            if end < len(buf.buf):
                raise buf.error(end, "extra data after the document")

    def _wrapped(self, buf: TextBuffer, pos: int) -> Iterator[RawBatch]:
        pos = buf.skip_ws(pos + 1)
        array_key: str | None = None
        while True:
            if pos >= len(buf.buf):
                raise buf.error(pos, "", JSON_TRUNCATED)
            if buf.buf[pos] == "}":
                break
            key, pos, _deep = buf.decode(pos)
            if not isinstance(key, str):
                raise buf.error(pos, "expected a key")
            pos = buf.skip_ws(pos)
            if pos >= len(buf.buf) or buf.buf[pos] != ":":
                raise buf.expected(pos, "':'")
            pos = buf.skip_ws(pos + 1)
            if pos < len(buf.buf) and buf.buf[pos] == "[":
                if array_key is not None:
                    raise ReadError(JSON_TWO_ARRAYS.format(first=array_key, second=key))
                array_key = key
                self.info.json_path = "$." + key.encode("utf-8", "backslashreplace").decode()
                yield from self._array(buf, pos)
                pos = buf.pos_after
            else:
                _value, pos, _deep = buf.decode(pos)
            pos = buf.skip_ws(pos)
            if pos < len(buf.buf) and buf.buf[pos] == ",":
                pos = buf.skip_ws(pos + 1)
            elif pos >= len(buf.buf) or buf.buf[pos] != "}":
                raise buf.expected(pos, "',' or '}'")
        if array_key is None:
            raise ReadError(JSON_NOT_RECORDS)
        buf.pos_after = pos + 1

    def _array(self, buf: TextBuffer, pos: int) -> Iterator[RawBatch]:
        batcher = _Batcher(self.batch_size)
        index = 0
        pos = buf.skip_ws(pos + 1)
        if pos < len(buf.buf) and buf.buf[pos] == "]":
            buf.pos_after = pos + 1
            yield batcher.take()
            return
        while True:
            if pos >= len(buf.buf):
                raise buf.error(pos, "", JSON_TRUNCATED)
            index += 1
            start = pos
            value, pos, too_deep = buf.decode(pos)
            if too_deep:
                shown = buf.buf[start : start + 200]
                batcher.set_aside.append(
                    SetAside(line=index, text=shown, code=CODE_JSON, message=MSG_JSON_TOO_DEEP)
                )
            else:
                batcher.add(value, index, "" if isinstance(value, dict) else buf.buf[start:pos][:10000])
            pos = buf.skip_ws(pos)
            if pos >= len(buf.buf):
                raise buf.error(pos, "", JSON_TRUNCATED)
            char = buf.buf[pos]
            if char == "]":
                buf.pos_after = pos + 1
                break
            if char != ",":
                raise buf.error(pos, "expected ',' or ']'")
            pos = buf.skip_ws(pos + 1)
            if batcher.full:
                yield batcher.take()
            if pos > CHUNK:  # keep the window small: forget what was already read
                buf.drop(pos)
                pos = 0
        yield batcher.take()


class NdjsonReader(_PeekingReader):
    """One JSON object per line; a line that is not one is set aside, the rest load."""

    def _lines(self) -> Iterator[tuple[str | None, bytes | str]]:
        stream, self._counter, _ = open_bytes(self.path, limit=self.info.max_bytes)
        if self.info.encoding in UTF8_FAMILY:
            # Decode line by line: undecodable bytes spoil one line, not the file.
            with stream:
                for number, raw in enumerate(stream, start=1):
                    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    try:
                        yield raw.decode("utf-8"), raw
                    except UnicodeDecodeError:
                        yield None, raw
        else:
            text = io.TextIOWrapper(stream, encoding=self.info.encoding, errors="strict", newline=None)
            with text:
                try:
                    for line in text:
                        yield line, line
                except UnicodeDecodeError as exc:
                    problem = UNDECODABLE.format(encoding=self.info.encoding, problem=exc.reason)
                    raise ReadError(problem) from exc

    def _batches(self) -> Iterator[RawBatch]:
        batcher = _Batcher(self.batch_size)
        for number, (line, raw) in enumerate(self._lines(), start=1):
            if line is None:
                shown = raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else raw
                message = MSG_ENCODING.format(encoding="UTF-8", column="(line)")
                batcher.set_aside.append(
                    SetAside(line=number, text=shown.rstrip("\r\n"), code=CODE_ENCODING, message=message)
                )
            elif line.strip():
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    # Python's "Invalid control character at" ends in "at" already.
                    problem = f"{exc.msg.removesuffix(' at')} at column {exc.colno}"
                    message = MSG_JSON_BROKEN.format(problem=problem)
                    batcher.set_aside.append(
                        SetAside(line=number, text=line.rstrip("\r\n"), code=CODE_JSON, message=message)
                    )
                except RecursionError:
                    batcher.set_aside.append(
                        SetAside(line=number, text=line[:200], code=CODE_JSON, message=MSG_JSON_TOO_DEEP)
                    )
                else:
                    batcher.add(value, number, line.rstrip("\r\n"))
            if batcher.full:
                yield batcher.take()
        yield batcher.take()
