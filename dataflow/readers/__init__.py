"""Readers: a file on disk → batches of text records (Polars frames) plus the records set aside.

:func:`open_reader` looks at the first bytes (gzip magic, BOM/encoding, format,
delimiter) and returns the reader for the format. Any problem with the file as
a whole is a :class:`ReadError` with a one-line message.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.readers.base import (
    FILE_TOO_BIG,
    LINE_COLUMN,
    LineFix,
    RawBatch,
    ReadError,
    ReadInfo,
    RecordReader,
    SetAside,
)
from dataflow.readers.csv_reader import CsvReader
from dataflow.readers.detect import (
    decode_sample,
    detect_encoding,
    detect_format,
    is_gzip,
    read_sample,
    sniff_delimiter,
)
from dataflow.readers.json_reader import JsonReader, NdjsonReader, flatten

__all__ = [
    "LINE_COLUMN",
    "LineFix",
    "RawBatch",
    "ReadError",
    "ReadInfo",
    "RecordReader",
    "SetAside",
    "flatten",
    "open_reader",
]


def open_reader(path: Path, *, batch_size: int, name: str | None = None, max_bytes: int = 0) -> RecordReader:
    """The reader for ``path`` (``name`` is the original file name, for suffix-based format hints).

    ``max_bytes``: most bytes the file may hold once decompressed (0: no limit); reading past it
    raises :class:`ReadError`, and so does a file larger than that on disk.
    """
    size = path.stat().st_size
    if max_bytes and size > max_bytes:
        raise ReadError(FILE_TOO_BIG.format(size=size, limit=max_bytes))
    sample, complete = read_sample(path)
    encoding = detect_encoding(sample, complete=complete)
    text = decode_sample(sample, encoding, complete=complete)
    fmt = detect_format(name or path.name, text)
    info = ReadInfo(
        format=fmt, encoding=encoding, compression="gzip" if is_gzip(path) else None, max_bytes=max_bytes
    )
    if fmt == "json":
        return JsonReader(path, info=info, batch_size=batch_size)
    if fmt == "ndjson":
        return NdjsonReader(path, info=info, batch_size=batch_size)
    info.delimiter = sniff_delimiter(text, complete=complete)
    return CsvReader(path, info=info, sample_text=text, batch_size=batch_size, complete=complete)
