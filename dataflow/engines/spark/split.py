"""The Spark engine reads a CSV file on its executors: byte ranges parsed in parallel, exactly.

A CSV file can be cut only where a record starts, and whether a newline ends
a record depends on the quotes before it: Spark's own CSV reader refuses to
split a file with ``multiLine`` for that reason. Here the cut is found, then
proven, in two parallel passes over ``SPARK_SPLIT_BYTES`` ranges:

1. **scan** (:func:`~dataflow.engines.spark.split_tasks.range_scan`): each range
   counts its quote characters and newlines, and notes the first newline
   after its start that an even or an odd number of quotes precedes. The
   driver adds the counts up: under RFC 4180 quoting (a quote in a value is
   doubled) a newline preceded by an even number of quotes is outside any
   quoted value, so the range's record start is known.
2. **parse** (:func:`~dataflow.engines.spark.split_tasks.range_parse`): each
   range, from its record start to the next, is parsed by the Polars
   engine's own CSV core (:mod:`dataflow.readers.csv_arrow`) into one Parquet part,
   followed by a sentinel row. The sentinel is read as a row of its own only
   if the parser ended the range outside a quoted value, so the next range
   does start a record; the first range starts after the header. By
   induction every cut is one the whole-file parser makes too, and the parts
   hold the very records, lines and set-aside rows of the Polars engine.

A stray quote inside an unquoted value (``5'10"``) breaks the count: some
range then fails its check and the driver reads the file itself
(:func:`dataflow.engines.spark.reader.spool_file`), with the same result, only
slower. Files that cannot be cut at all are read on the driver too: gzip (a
gzip stream cannot be entered in the middle), JSON documents (one value),
NDJSON (read by the shared JSON reader), encodings whose characters may hold
a newline or quote byte (UTF-16/32), and files with carriage returns not
followed by a newline (their lines are not counted by ``\\n``).
"""

from __future__ import annotations

import codecs
import re
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataflow.engines.spark.reader import Spooled
from dataflow.engines.spark.split_tasks import ORD_COLUMN, ORD_SHIFT, RangeSpec, range_parse, range_scan
from dataflow.mapping import ColumnMapping, extra_columns
from dataflow.readers import LINE_COLUMN, SetAside
from dataflow.readers.csv_arrow import UTF8_FAMILY
from dataflow.readers.csv_reader import CsvReader
from dataflow.readers.detect import SAMPLE_BYTES
from dataflow.stages import set_aside_stage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from dataflow.quality.batch import QualityTally

SINGLE_BYTE = re.compile(r"^(ascii|latin-1|iso8859-\d+|cp12\d\d|cp8\d\d|mac-[a-z]+|koi8-[a-z])$")


@dataclass(frozen=True)
class SplitRead:
    """How the file was read: on the executors (``ranges``), or on the driver and why."""

    spooled: Spooled | None
    ranges: int = 0
    reason: str = ""

    def as_report(self) -> dict[str, Any]:
        if self.spooled is not None:
            return {"mode": "executors", "ranges": self.ranges}
        return {"mode": "driver", "reason": self.reason}


def _splittable_encoding(encoding: str) -> bool:
    return encoding in UTF8_FAMILY or bool(SINGLE_BYTE.match(codecs.lookup(encoding).name))


def _data_start(path: Path, *, header_lines: int) -> int | None:
    """Byte offset after the header's lines (within the sample), or None."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    offset = 0
    for _ in range(header_lines):
        found = sample.find(b"\n", offset)
        if found < 0:
            return None
        offset = found + 1
    return offset


def split_unsupported(reader: Any, *, path: Path) -> str:
    """Why ``reader``'s file cannot be split (empty when it can)."""
    if not isinstance(reader, CsvReader):
        return f"{reader.info.format} is read as one stream"
    if reader.info.compression:
        return f"{reader.info.compression} cannot be read from the middle"
    if not _splittable_encoding(reader.info.encoding):
        return f"{reader.info.encoding} characters may hold newline or quote bytes"
    if _data_start(path, header_lines=reader.header_lines) is None:
        return "the header is not within the first bytes"
    return ""


def range_specs(scans: list[Any], *, data_start: int, first_line: int, size: int) -> list[RangeSpec]:
    """Record starts from the scan counts (see the module's docstring, step 1), as ranges to parse."""
    starts = [(data_start, first_line)]
    parity, newlines = 0, first_line - 1  # quotes from the data start, newlines from the file start
    for scan in scans:
        if scan.start > data_start:
            if parity == 0 and scan.after_newline:
                start = (scan.start, newlines + 1)
            elif scan.starts[parity] is not None:
                offset, before = scan.starts[parity]
                start = (offset, newlines + before + 1)
            else:
                start = None  # one record spans the whole range
            if start is not None and starts[-1][0] < start[0] < size:
                starts.append(start)
        parity = (parity + scan.quotes) % 2
        newlines += scan.newlines
    ends = [begin for begin, _line in starts[1:]] + [size]
    return [
        RangeSpec(index=i, begin=begin, end=end, first_line=line, last=i == len(starts) - 1)
        for i, ((begin, line), end) in enumerate(zip(starts, ends, strict=True))
    ]


def _ship_by_value() -> None:
    """Executors get the split tasks and the CSV core by value: they need pyarrow/numpy, not the project."""
    from pyspark import cloudpickle

    from common import errors
    from dataflow import columns
    from dataflow.engines.spark import split_tasks
    from dataflow.readers import csv_arrow, texts

    for module in (split_tasks, csv_arrow, texts, columns, errors):
        cloudpickle.register_pickle_by_value(module)


def batch_line_ranges(raw: DataFrame, *, rows: list[int], batch_size: int) -> list[tuple[int, int]]:
    """(first, last) line of each reader batch: ``batch_size`` parsed rows of the file, as the Polars
    reader cuts them (its per-batch figures, e.g. outlier fences, follow these)."""
    from pyspark.sql import functions as F

    bases, total = [], 0
    for count in rows:
        bases.append(total)
        total += count
    index = (F.col(ORD_COLUMN) / F.lit(1 << ORD_SHIFT)).cast("int")
    local = F.col(ORD_COLUMN) - index * F.lit(1 << ORD_SHIFT)
    base = F.element_at(F.array(*[F.lit(b) for b in bases]), index + 1)
    batch = F.floor((base + local) / F.lit(batch_size)).alias("_batch")
    ranges = raw.groupBy(batch).agg(F.min(LINE_COLUMN), F.max(LINE_COLUMN)).orderBy("_batch").collect()
    return [(int(r[1]), int(r[2])) for r in ranges]


def spark_split_read(
    spark: SparkSession,
    *,
    reader: Any,
    path: Path,
    folder: Path,
    split_bytes: int,
    batch_size: int,
    mapping: ColumnMapping | None,
    tally: QualityTally,
) -> SplitRead:
    """Parse ``path`` on the executors into Parquet parts in ``folder`` (shared with them on a cluster).

    The records set aside go to the quarantine staging and ``tally`` only
    once every range passed its check; otherwise nothing is kept and
    ``spooled`` is None: the caller reads the file on the driver.
    """
    reason = split_unsupported(reader, path=path)
    if reason:
        return SplitRead(spooled=None, reason=reason)
    assert isinstance(reader, CsvReader)
    data_start = _data_start(path, header_lines=reader.header_lines)
    assert data_start is not None
    size = path.stat().st_size
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spooled = Spooled(folder=folder, mapping=mapping, names={LINE_COLUMN: LINE_COLUMN})
    for i, column in enumerate(reader.columns):
        spooled.names[column] = f"_c{i}"
    if size <= data_start:
        return SplitRead(spooled=spooled, ranges=0)
    _ship_by_value()
    context = spark.sparkContext
    cuts = list(range(data_start, size, split_bytes))
    pieces = [(i, start, min(start + split_bytes, size)) for i, start in enumerate(cuts)]
    scans = context.parallelize(pieces, len(pieces)).map(partial(range_scan, path=str(path))).collect()
    if any(scan.lone_cr for scan in scans):
        return SplitRead(spooled=None, reason="carriage returns without a newline")
    specs = range_specs(scans, data_start=data_start, first_line=reader.header_lines + 1, size=size)
    parse = partial(
        range_parse, path=str(path), dialect=reader.dialect, folder=str(folder), batch_size=batch_size
    )
    parsed = sorted(context.parallelize(specs, len(specs)).map(parse).collect(), key=lambda p: p.index)
    failed = next((p for p in parsed if not p.ok), None)
    if failed is not None:
        shutil.rmtree(folder, ignore_errors=True)
        return SplitRead(spooled=None, reason=f"range {failed.index}: {failed.problem}")
    _spooled_fill(spooled, parsed=parsed, mapping=mapping, tally=tally)
    if spooled.records:
        raw = spark.read.parquet(*[str(p) for p in spooled.parts])
        rows = [p.rows for p in parsed]
        spooled.line_ranges = batch_line_ranges(raw, rows=rows, batch_size=batch_size)
    for result in parsed:
        reader.info.warnings.extend(result.warnings)
    return SplitRead(spooled=spooled, ranges=len(specs))


def _spooled_fill(
    spooled: Spooled, *, parsed: list[Any], mapping: ColumnMapping | None, tally: QualityTally
) -> None:
    rows = sorted(
        (
            SetAside(line=line, text=text, code=code, message=message)
            for p in parsed
            for line, text, code, message in p.set_aside
        ),
        key=lambda r: r.line or 0,
    )
    spooled.set_aside = set_aside_stage(rows, tally=tally)
    spooled.records = sum(p.records for p in parsed)
    # Parts without records are not read (the driver's spool writes none either).
    spooled.parts = [Path(p.part) for p in parsed if p.records]
    if spooled.records and mapping is not None:
        spooled.extra = dict.fromkeys(extra_columns(spooled.names, mapping=mapping))
