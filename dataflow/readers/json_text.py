"""A sliding window over a JSON text stream: values cut out one at a time, errors with line and column.

The JSON readers (:mod:`dataflow.readers.json_reader`) walk a document through it:
the window grows by :data:`CHUNK` characters when a value runs past its end,
and drops what was read, so memory stays bounded whatever the file size.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from dataflow.readers.texts import JSON_INVALID, JSON_TRUNCATED, UNDECODABLE, ReadError

CHUNK = 1 << 20
_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\r\n]*")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|"|[\[\]{}]', re.DOTALL)


class TextBuffer:
    """A sliding window over a text stream, tracking the line of the window's start."""

    def __init__(self, stream: io.TextIOBase, encoding: str) -> None:
        self.stream = stream
        self.encoding = encoding
        self.buf = ""
        self.eof = False
        self.base_line = 1
        self.pos_after = 0
        """Where the last array or object read by a caller ended."""

    def more(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.stream.read(CHUNK)
        except UnicodeDecodeError as exc:
            raise ReadError(UNDECODABLE.format(encoding=self.encoding, problem=exc.reason)) from exc
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def drop(self, upto: int) -> None:
        self.base_line += self.buf.count("\n", 0, upto)
        self.buf = self.buf[upto:]

    def skip_ws(self, pos: int) -> int:
        while True:
            match = _WS.match(self.buf, pos)
            end = match.end() if match else pos
            if end < len(self.buf) or not self.more():
                return end

    def where(self, pos: int) -> tuple[int, int]:
        line = self.base_line + self.buf.count("\n", 0, pos)
        column = pos - (self.buf.rfind("\n", 0, pos) + 1) + 1
        return line, column

    def error(self, pos: int, message: str, template: str = JSON_INVALID) -> ReadError:
        line, column = self.where(pos)
        return ReadError(template.format(line=line, column=column, problem=message))

    def expected(self, pos: int, what: str) -> ReadError:
        if pos >= len(self.buf):
            return self.error(pos, "", JSON_TRUNCATED)
        return self.error(pos, f"expected {what}")

    def decode(self, pos: int) -> tuple[Any, int, bool]:
        """The JSON value starting at ``pos``: (value, end, too_deep)."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, pos)
                if end < len(self.buf) or self.eof or self.buf[pos] not in "-0123456789":
                    return value, end, False
                if not self.more():  # a number may continue in the next chunk
                    return value, end, False
                continue
            except RecursionError:
                return None, self.skip_value(pos), True
            except json.JSONDecodeError as exc:
                # Only an error at the window's end can be cured by reading on.
                at_end = exc.pos >= len(self.buf.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
                if at_end and self.more():
                    continue
                if at_end:
                    raise self.error(exc.pos, exc.msg, JSON_TRUNCATED) from exc
                raise self.error(exc.pos, exc.msg) from exc

    def skip_value(self, pos: int) -> int:
        """End of the (deeply nested) value at ``pos``, found by counting brackets outside strings."""
        while True:
            depth = 0
            for match in _TOKEN.finditer(self.buf, pos):
                found = match.group()
                if found == '"':
                    break  # a string continues past the window
                if found in "[{":
                    depth += 1
                elif found in "]}":
                    depth -= 1
                    if depth == 0:
                        return match.end()
            if not self.more():
                raise self.error(len(self.buf), "", JSON_TRUNCATED)
