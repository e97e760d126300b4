"""Looking at the first bytes of a file: compression, encoding, format and CSV delimiter."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from pathlib import Path
from typing import IO, Any, cast

from charset_normalizer import from_bytes

from dataflow.readers.base import (
    BINARY_FILE,
    CORRUPT_GZIP,
    DECOMPRESSED_TOO_BIG,
    EMPTY_FILE,
    UNKNOWN_ENCODING,
    ReadError,
)

GZIP_MAGIC = b"\x1f\x8b"
SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".psv", ".dat"}
JSON_SUFFIXES = {".json"}
NDJSON_SUFFIXES = {".jsonl", ".ndjson"}
# Control characters other than tab/CR/LF/FF: a share above this means binary content.
MAX_CONTROL_SHARE = 0.05
CONTROL_BYTES = [b for b in range(32) if b not in (9, 10, 12, 13)]


class CountingReader(io.RawIOBase):
    """A read-only byte stream that counts the bytes taken from the underlying file (for progress)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class LimitedReader(io.RawIOBase):
    """A decompressed stream that stops with a :class:`ReadError` past ``limit`` bytes: a small
    ``.gz`` cannot make us read gigabytes (``INGEST_MAX_BYTES``)."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self.limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        self.count += n
        if self.count > self.limit:
            raise ReadError(DECOMPRESSED_TOO_BIG.format(limit=self.limit))
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class GzipChecked(io.RawIOBase):
    """A gzip stream whose damage (cut short, bad CRC or length, corrupt deflate data) is a
    :class:`ReadError`: the file is bad, the run rejected, not failed as if worth a retry."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(buffer))
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ReadError(CORRUPT_GZIP.format(problem=exc)) from exc
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_bytes(path: Path, *, limit: int = 0) -> tuple[IO[bytes], CountingReader, str | None]:
    """The file's content as a byte stream (decompressed when gzip), and its byte counter.

    ``limit``: most decompressed bytes to read (0: no limit); past it, :class:`ReadError`.
    """
    counter = CountingReader(path.open("rb"))
    if is_gzip(path):
        gzipped = cast(IO[bytes], gzip.GzipFile(fileobj=io.BufferedReader(counter), mode="rb"))
        unzipped = cast(IO[bytes], io.BufferedReader(GzipChecked(gzipped), buffer_size=1 << 20))
        if limit:
            unzipped = cast(IO[bytes], io.BufferedReader(LimitedReader(unzipped, limit), buffer_size=1 << 20))
        return unzipped, counter, "gzip"
    return io.BufferedReader(counter, buffer_size=1 << 20), counter, None


def read_sample(path: Path) -> tuple[bytes, bool]:
    """Up to ``SAMPLE_BYTES`` of (decompressed) content, and whether that is the whole content."""
    stream, _counter, _ = open_bytes(path)
    with stream:
        sample = stream.read(SAMPLE_BYTES + 1)
    return sample[:SAMPLE_BYTES], len(sample) <= SAMPLE_BYTES


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return control / len(text)


def _mostly_utf8(sample: bytes) -> bool:
    """Valid multi-byte UTF-8 characters outnumber the invalid sequences (legacy charsets have none)."""
    text = sample.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - sample.count("\ufffd".encode())
    valid_multibyte = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    return valid_multibyte > 0 and invalid <= valid_multibyte


PREFERRED_LEGACY = "cp1252"


def _legacy_encoding(sample: bytes) -> str | None:
    """charset-normalizer's best guess; among equally good guesses, cp1252 (Western partners' usual)."""
    results = from_bytes(sample)
    best = results.best()
    if best is None or best.encoding is None:
        return None
    ties = {
        codecs.lookup(m.encoding).name
        for m in results
        if m.percent_chaos == best.percent_chaos and m.percent_coherence == best.percent_coherence
    }
    return PREFERRED_LEGACY if PREFERRED_LEGACY in ties else codecs.lookup(best.encoding).name


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """A Python codec name for the content, or ReadError for binary/undetectable content.

    BOMs decide first; then strict UTF-8; then charset-normalizer for legacy
    single-byte charsets (latin-1, cp1252, ...).
    """
    if not sample.strip():
        raise ReadError(EMPTY_FILE)
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # A stray NUL or control byte is a bad value in one record; many mean binary content
    # (or UTF-16 without a BOM).
    control = sum(sample.count(bytes([b])) for b in CONTROL_BYTES)
    if control > MAX_CONTROL_SHARE * len(sample):
        raise ReadError(
            BINARY_FILE.format(offset=min(i for b in CONTROL_BYTES if (i := sample.find(bytes([b]))) >= 0))
        )
    try:
        text = sample.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if not complete and exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            text = sample[: exc.start].decode("utf-8")
            encoding = "utf-8"
        elif _mostly_utf8(sample):
            # Real UTF-8 with a few bad bytes: those records are set aside, the rest load.
            text = sample.decode("utf-8", errors="replace")
            encoding = "utf-8"
        else:
            legacy = _legacy_encoding(sample)
            if legacy is None:
                raise ReadError(UNKNOWN_ENCODING) from exc
            encoding = legacy
            text = sample.decode(encoding, errors="replace")
    if _control_share(text) > MAX_CONTROL_SHARE:
        raise ReadError(BINARY_FILE.format(offset=0))
    return encoding


def decode_sample(sample: bytes, encoding: str, *, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(sample, final=complete)


def detect_format(name: str, text: str) -> str:
    """``csv``, ``json`` or ``ndjson``: by the name's suffix (ignoring ``.gz``), else by content."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in NDJSON_SUFFIXES:
        return "ndjson"
    if suffix in JSON_SUFFIXES:
        return "ndjson" if _json_lines(text) else "json"
    if suffix in CSV_SUFFIXES:
        return "csv"
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        first_line = stripped.split("\n", 1)[0].strip()
        return "ndjson" if first_line.endswith("}") and "\n" in stripped.strip() else "json"
    return "csv"


def _json_lines(text: str) -> bool:
    """One JSON object per line, in a file named ``.json`` (many exports name JSON Lines so).

    A JSON document holds one value: when its first non-blank line is a whole object and the
    next one starts another, the file is JSON Lines (or broken, which the NDJSON reader then
    reports line by line). A pretty-printed or one-line document fails the test.
    """
    lines = (line.strip() for line in text.lstrip("\ufeff").split("\n"))
    first, second = next((line for line in lines if line), ""), next((line for line in lines if line), "")
    if not (first.startswith("{") and second.startswith("{")):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def _complete_lines(text: str, *, complete: bool) -> str:
    if complete:
        return text
    cut = text.rfind("\n")
    return text[: cut + 1] if cut > 0 else text


def sniff_delimiter(text: str, *, complete: bool) -> str:
    """The delimiter among ``, ; tab |`` that splits the sample into the most consistent rows.

    Score: rows whose field count equals the header's (quotes respected), the
    header having at least two fields; ties go to the order above.
    """
    body = _complete_lines(text.lstrip("\ufeff"), complete=complete)
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        rows = list(csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=False))
        rows = [r for r in rows if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = sum(1 for r in rows if len(r) == width) * width
        if score > best_score:
            best, best_score = delimiter, score
    return best
