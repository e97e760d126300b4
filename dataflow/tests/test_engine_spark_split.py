"""The split read's tasks without Spark: every cut gives the whole-file reader's records, lines, set-asides.

The executor tasks are plain functions; here they run one after the other in
this process, over many split sizes, and their parts are compared with what
the Polars engine's reader gives for the same file (its line fixes applied).
"""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
import pyarrow as pa
import pytest

from dataflow.engines.spark.split import _data_start, range_specs, split_unsupported
from dataflow.engines.spark.split_tasks import ORD_COLUMN, range_parse, range_scan
from dataflow.readers import LINE_COLUMN, SetAside, open_reader
from dataflow.readers.csv_arrow import lines_shift
from dataflow.readers.csv_reader import CsvReader
from testsupport.ingest import CASES, HEADER, SAMPLE, customer_lines


class Read(NamedTuple):
    records: list[tuple[Any, ...]]
    set_aside: list[tuple[int | None, str, str, str]]


def whole_file(path: Path) -> Read:
    """The Polars engine's reader, lines as the load fixes them (``dataflow.load.staging_fix_lines``)."""
    reader = open_reader(path, batch_size=50)
    frames, rows = [], []
    for batch in reader.batches():
        frames.append(batch.frame)
        rows.extend(batch.set_aside)
    fix = reader.line_fix()
    frame = pl.concat(frames)
    set_aside = [(r.line, r.text, r.code, r.message) for r in rows]
    if fix is not None:
        frame = frame.with_columns(
            pl.Series(LINE_COLUMN, lines_shift(frame[LINE_COLUMN].to_arrow(), fix.shifts))
        )

        def fixed(row: SetAside) -> int | None:
            if row.seq is not None:
                return fix.set_aside_lines[row.seq]
            return None if row.line is None else lines_shift(pa.array([row.line]), fix.shifts)[0].as_py()

        set_aside = [(fixed(r), r.text, r.code, r.message) for r in rows]
    return Read(records=[tuple(r) for r in frame.rows()], set_aside=sorted(set_aside))


def split(path: Path, tmp_path: Path, *, split_bytes: int) -> tuple[Read, int, list[Any]]:
    """The split read's two passes in this process: (what the parts hold, ranges, the results)."""
    reader = open_reader(path, batch_size=50)
    assert isinstance(reader, CsvReader)
    assert split_unsupported(reader, path=path) == ""
    data_start = _data_start(path, header_lines=reader.header_lines)
    assert data_start is not None
    size = path.stat().st_size
    starts = range(data_start, size, split_bytes)
    scans = [range_scan((i, s, min(s + split_bytes, size)), path=str(path)) for i, s in enumerate(starts)]
    specs = range_specs(scans, data_start=data_start, first_line=reader.header_lines + 1, size=size)
    folder = tmp_path / f"parts-{split_bytes}"
    folder.mkdir()
    parsed = [
        range_parse(spec, path=str(path), dialect=reader.dialect, folder=str(folder), batch_size=7)
        for spec in specs
    ]
    frames = [pl.read_parquet(p.part).drop(ORD_COLUMN) for p in parsed if p.ok]
    records = [tuple(r) for frame in frames for r in frame.rows()]
    set_aside = sorted(row for p in parsed for row in p.set_aside)
    return Read(records=records, set_aside=set_aside), len(specs), parsed


def tricky_file(path: Path, *, newline: str = "\n", encoding: str = "utf-8") -> Path:
    """Quoted values with newlines, delimiters and doubled quotes; ragged, blank and undecodable rows."""
    lines = customer_lines(120, seed=3)
    out = []
    for i, line in enumerate(lines):
        fields = line.split(",")
        if i % 7 == 0:
            fields[4] = f'"Vega, Gentry{newline}and ""Sons"" {i}{newline}Ltd"'
        if i % 11 == 0:
            fields[5] = '"' + fields[5] + '"'
        row = ",".join(fields)
        if i % 13 == 5:
            out.append(f"{i},RAGGED,x")  # too few fields
        if i % 17 == 2:
            out.append("")  # blank line: not a record
        if i % 19 == 4:
            out.append(row + ",EXTRA")  # too many
            continue
        out.append(row)
    raw = newline.join([HEADER, *out]) + newline
    data = raw.encode(encoding)
    if encoding == "utf-8":
        # one undecodable value in a file that is UTF-8 (it has valid multi-byte characters)
        data = data.replace(b"First30,", b"First\xff30,").replace(b"First2,", "Zoë Ørsted,".encode())
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("split_bytes", [64, 199, 1024, 1 << 20])
def test_every_cut_gives_the_whole_file_readers_records_lines_and_set_asides(
    tmp_path: Path, split_bytes: int
) -> None:
    path = tricky_file(tmp_path / "tricky.csv")
    expected = whole_file(path)
    got, ranges, parsed = split(path, tmp_path, split_bytes=split_bytes)
    assert all(p.ok for p in parsed), [p.problem for p in parsed if not p.ok]
    assert got == expected
    assert (ranges > 1) == (split_bytes < path.stat().st_size)
    codes = {code for _line, _text, code, _message in got.set_aside}
    assert codes == {"row.field_count", "row.encoding"}


@pytest.mark.parametrize(
    ("newline", "encoding"), [("\r\n", "utf-8"), ("\n", "cp1252"), ("\n", "utf-8-sig")], ids=str
)
def test_crlf_and_single_byte_and_bom_files_split_alike(tmp_path: Path, newline: str, encoding: str) -> None:
    path = tricky_file(tmp_path / "tricky.csv", newline=newline, encoding=encoding)
    if encoding == "cp1252":
        path.write_bytes(path.read_bytes().replace(b"First1,", "Françoise,".encode("cp1252")))
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
    got, _ranges, parsed = split(path, tmp_path, split_bytes=150)
    assert all(p.ok for p in parsed)
    assert got == whole_file(path)


@pytest.mark.parametrize("name", ["customers-100.csv", "quoted_multiline.csv", "ragged.csv"])
def test_sample_files_split_alike(tmp_path: Path, name: str) -> None:
    path = SAMPLE if name == SAMPLE.name else CASES / name
    got, _ranges, parsed = split(path, tmp_path, split_bytes=97)
    assert all(p.ok for p in parsed)
    assert got == whole_file(path)


def test_a_stray_quote_fails_a_range_check_never_the_records(tmp_path: Path) -> None:
    lines = customer_lines(40, seed=5)
    lines[3] = lines[3].replace("First4", "Tall 5'10\" First4")  # a quote inside an unquoted value
    fields = lines[20].split(",")
    fields[4] = '"Multi\nline Company"'  # the first newline the odd count takes for a record start
    lines[20] = ",".join(fields)
    path = tmp_path / "stray.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    _got, _ranges, parsed = split(path, tmp_path, split_bytes=120)
    problems = [p.problem for p in parsed if not p.ok]
    assert problems
    assert problems[0].startswith("a range ended inside a quoted value")


def test_files_that_cannot_be_cut_are_named_with_the_reason(tmp_path: Path) -> None:
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    utf16 = tmp_path / "c16.csv"
    utf16.write_bytes(SAMPLE.read_text().encode("utf-16"))
    reasons = {
        p.name: split_unsupported(open_reader(p, batch_size=10), path=p)
        for p in (gz, utf16, CASES / "nested.json")
    }
    assert reasons == {
        "c.csv.gz": "gzip cannot be read from the middle",
        "c16.csv": "utf-16 characters may hold newline or quote bytes",
        "nested.json": "json is read as one stream",
    }


def test_lone_carriage_returns_are_counted_by_the_scan(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(b"a,b\r\n1,2\r3,4\r\n5,6\r")
    size = path.stat().st_size
    scans = [range_scan((0, 0, 4), path=str(path)), range_scan((1, 4, size), path=str(path))]
    assert [s.lone_cr for s in scans] == [0, 2]  # the CRLF cut between its two bytes is not lone
