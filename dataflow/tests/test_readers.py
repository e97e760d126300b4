"""Readers: every supported shape of file in, text records (with their lines) or a clear error out."""

from __future__ import annotations

import codecs
import gzip
import json
import random
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pytest

from dataflow.readers import (
    LINE_COLUMN,
    LineFix,
    ReadError,
    RecordReader,
    SetAside,
    csv_arrow,
    csv_reader,
    open_reader,
)
from dataflow.readers import base as messages
from testsupport import CASES as CASES_ROOT

CASES = CASES_ROOT / "ingest"
HEADER = [
    "Index",
    "Customer Id",
    "First Name",
    "Last Name",
    "Company",
    "City",
    "Country",
    "Phone 1",
    "Phone 2",
    "Email",
    "Subscription Date",
    "Website",
]


class Read(NamedTuple):
    frame: pl.DataFrame
    set_aside: list[SetAside]
    reader: RecordReader
    fix: LineFix | None


def read_all(path: Path, *, batch_size: int = 1000, name: str | None = None) -> Read:
    reader = open_reader(path, batch_size=batch_size, name=name)
    frames, set_aside = [], []
    for batch in reader.batches():
        frames.append(batch.frame)
        set_aside.extend(batch.set_aside)
    fix = reader.line_fix()
    frame = pl.concat(frames, how="diagonal") if frames else pl.DataFrame()
    return Read(frame, set_aside, reader, fix)


@pytest.mark.parametrize(
    ("name", "delimiter"), [("three.csv", ","), ("semicolon.csv", ";"), ("tab.tsv", "\t"), ("pipe.txt", "|")]
)
def test_delimiter_is_sniffed(name: str, delimiter: str) -> None:
    frame, set_aside, reader, _fix = read_all(CASES / name)
    assert reader.info.delimiter == delimiter
    assert reader.columns == HEADER
    assert frame["Customer Id"].to_list() == ["DD37Cf93aecA6Dc", "1Ef7b82A4CAAD10", "6F94879bDAfE5a6"]
    assert set_aside == []


def test_quoted_field_keeps_embedded_delimiter_and_crlf_newline() -> None:
    frame, _set_aside, _reader, _fix = read_all(CASES / "quoted_multiline.csv")
    assert frame["Company"].to_list()[1] == "Vega, Gentry\r\nand Sons"
    # The record after the two-line record starts on line 5.
    assert frame[LINE_COLUMN].to_list() == [2, 3, 5]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_line_break_in_a_quoted_value_counts_as_a_line_whatever_the_ending(
    tmp_path: Path, ending: str
) -> None:
    lines = (CASES / "three.csv").read_text().splitlines()
    lines[2] = lines[2].replace("Vega-Gentry", f'"Vega,{ending}Gentry"')
    path = tmp_path / "endings.csv"
    path.write_bytes(ending.join(lines).encode() + ending.encode())
    frame, set_aside, _reader, _fix = read_all(path)
    assert frame["Company"].to_list()[1] == f"Vega,{ending}Gentry"
    assert frame[LINE_COLUMN].to_list() == [2, 3, 5]
    assert set_aside == []


def test_a_header_field_without_a_name_is_named_by_its_position(tmp_path: Path) -> None:
    lines = [f"{line}," for line in (CASES / "three.csv").read_text().splitlines()]  # trailing delimiter
    path = tmp_path / "trailing.csv"
    path.write_text("\n".join(lines) + "\n")
    frame, set_aside, reader, _fix = read_all(path)
    assert reader.columns == [*HEADER, "column_13"]
    assert frame.columns == [*HEADER, "column_13", LINE_COLUMN]
    assert frame["column_13"].to_list() == ["", "", ""]
    assert set_aside == []


def test_crlf_line_endings_are_not_part_of_values() -> None:
    frame, _set_aside, _reader, _fix = read_all(CASES / "quoted_multiline.csv")
    assert frame["Website"].to_list()[0] == "http://www.stephenson.com/"


def test_ragged_rows_are_set_aside_with_line_and_text() -> None:
    frame, set_aside, _reader, fix = read_all(CASES / "ragged.csv")
    assert frame.height == 2
    assert fix is not None
    lines = {row.seq: line for row, line in zip(set_aside, fix.set_aside_lines.values(), strict=True)}
    assert [(lines[r.seq], r.code, r.message) for r in set_aside] == [
        (3, "row.field_count", "expected 12 fields, found 5"),
        (5, "row.field_count", "expected 12 fields, found 13"),
    ]
    assert set_aside[0].text == "2,1Ef7b82A4CAAD10,Preston,Lozano,Vega-Gentry"


def test_lines_after_a_ragged_row_are_corrected() -> None:
    _frame, _set_aside, _reader, fix = read_all(CASES / "ragged.csv")
    assert fix is not None
    # Provisional lines 2, 3 (the ragged row is not counted) become 2, 4.
    assert fix.shifts == ((3, 1), (4, 2))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "cp1252", "latin-1"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = (CASES / "three.csv").read_text().replace("Sheryl", "Renée Zoë Ångström François")
    raw = text.encode(encoding)
    if encoding == "utf-16-be":
        raw = codecs.BOM_UTF16_BE + raw
    path = tmp_path / "file.csv"
    path.write_bytes(raw)
    frame, _set_aside, reader, _fix = read_all(path)
    assert frame["First Name"][0] == "Renée Zoë Ångström François"
    assert reader.columns[0] == "Index"


def test_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + (CASES / "three.csv").read_bytes())
    _frame, _set_aside, reader, _fix = read_all(path)
    assert reader.info.encoding == "utf-8-sig"
    assert reader.columns[0] == "Index"


def test_invalid_utf8_bytes_set_aside_one_record(tmp_path: Path) -> None:
    good = (CASES / "three.csv").read_bytes().replace(b"Sheryl", "Zoë".encode())
    path = tmp_path / "bad.csv"
    path.write_bytes(good.replace(b"Preston", b"Pres\xfftonn"))
    frame, set_aside, _reader, _fix = read_all(path)
    assert frame["First Name"].to_list() == ["Zoë", "Roy"]
    assert [(r.line, r.code) for r in set_aside] == [(3, "row.encoding")]
    assert "\\xff" in set_aside[0].text


def test_invalid_utf8_bytes_in_a_json_document_set_aside_one_record(tmp_path: Path) -> None:
    raw = (CASES / "nested.json").read_bytes().replace(b'"Preston"', b'"Pres\xfft\xe9on"')
    path = tmp_path / "bad.json"
    for plain, accented in (("Rasmussen", "Rasmüssen"), ("East Leonard", "Éast Léonard")):
        raw = raw.replace(plain.encode(), accented.encode())
    path.write_bytes(raw)
    frame, set_aside, reader, _fix = read_all(path)
    assert reader.info.encoding == "utf-8"
    assert frame["customer_id"].to_list() == ["DD37Cf93aecA6Dc"]
    assert [(r.line, r.code) for r in set_aside] == [(2, "row.encoding")]
    assert set_aside[0].message == messages.MSG_NOT_UNICODE.format(column="first_name")
    assert '"Pres\\udcfft\\udce9on"' in set_aside[0].text  # each bad byte named in the record's text


@pytest.mark.parametrize("name", ["escaped.json", "escaped.ndjson"])
def test_unpaired_surrogate_escape_sets_aside_one_record(tmp_path: Path, name: str) -> None:
    records = [{"customer_id": "A1", "city": "Oslo"}, {"customer_id": "A2", "city": "x\udc80y"}]
    path = tmp_path / name
    if name.endswith(".ndjson"):
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        path.write_text(json.dumps(records))
    frame, set_aside, _reader, _fix = read_all(path)
    assert frame["customer_id"].to_list() == ["A1"]
    assert [(r.line, r.code, r.message) for r in set_aside] == [
        (2, "row.encoding", messages.MSG_NOT_UNICODE.format(column="city"))
    ]


def test_gzip_is_detected_by_magic_bytes_whatever_the_name(tmp_path: Path) -> None:
    path = tmp_path / "customers.dat"
    path.write_bytes(gzip.compress((CASES / "semicolon.csv").read_bytes()))
    frame, _set_aside, reader, _fix = read_all(path)
    assert reader.info.compression == "gzip"
    assert frame.height == 3


def test_small_batches_cover_every_record_once(tmp_path: Path) -> None:
    frame, _set_aside, _reader, _fix = read_all(Path("scripts/downloads/customers-100.csv"), batch_size=7)
    assert frame.height == 100
    assert frame[LINE_COLUMN].to_list() == list(range(2, 102))


def test_batches_hold_batch_size_records_whatever_pyarrow_blocks(tmp_path: Path) -> None:
    reader = open_reader(Path("scripts/downloads/customers-100.csv"), batch_size=30)
    assert [batch.frame.height for batch in reader.batches()] == [30, 30, 30, 10]


def test_pyarrow_block_does_not_grow_with_the_batch() -> None:
    # pyarrow reads 32 blocks ahead: a block sized to the batch made memory grow with the file.
    reader = open_reader(Path("scripts/downloads/customers-100.csv"), batch_size=1_000_000)
    assert isinstance(reader, csv_reader.CsvReader)
    assert reader.block_size == csv_arrow.BLOCK_BYTES


def _file_with_a_long_record(tmp_path: Path, *, value_bytes: int) -> Path:
    lines = (CASES / "three.csv").read_text().splitlines()
    header, row = lines[0], lines[1]
    short = [row.replace("DD37Cf93aecA6Dc", f"SHORT{i:05d}") for i in range(40)]
    long = row.replace("Sheryl", "x" * value_bytes).replace("DD37Cf93aecA6Dc", "LONG")
    body = [*short[:20], "1,2,3", long, "4,5", *short[20:]]
    path = tmp_path / "long_record.csv"
    path.write_text("\n".join([header, *body]) + "\n")
    return path


def test_record_longer_than_a_block_is_read_once_with_a_larger_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_arrow, "BLOCK_BYTES", 4096)
    path = _file_with_a_long_record(tmp_path, value_bytes=200_000)  # over csv.field_size_limit
    frame, set_aside, reader, fix = read_all(path, batch_size=7)
    assert isinstance(reader, csv_reader.CsvReader)
    assert reader.block_size > 200_000
    ids = frame["Customer Id"].to_list()
    assert ids == [f"SHORT{i:05d}" for i in range(20)] + ["LONG"] + [f"SHORT{i:05d}" for i in range(20, 40)]
    assert fix is not None
    assert sorted(fix.set_aside_lines.values()) == [22, 24]  # type: ignore[type-var]
    assert [r.text for r in set_aside] == ["1,2,3", "4,5"]


def test_record_longer_than_the_largest_block_rejects_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_arrow, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(csv_arrow, "MAX_BLOCK", 1 << 20)
    path = _file_with_a_long_record(tmp_path, value_bytes=3 << 20)  # pyarrow fits up to ~2 blocks
    expected = messages.CSV_RECORD_TOO_LONG.format(records=21, mib=1)
    with pytest.raises(ReadError, match=f"^{expected}$"):
        read_all(path)


def test_nested_json_is_flattened() -> None:
    frame, _set_aside, reader, _fix = read_all(CASES / "nested.json")
    assert "contact.email" in reader.columns
    assert frame["address.city"].to_list() == ["East Leonard", "East Jimmychester"]
    assert frame["contact.tags"].to_list() == ['["a", "b"]', None]
    assert frame["index"].to_list() == ["1", "2"]


def test_deep_nesting_does_not_crash(tmp_path: Path) -> None:
    deep = '{"x":' * 100_000 + "1" + "}" * 100_000
    path = tmp_path / "deep.json"
    path.write_text('[{"a": 1}, ' + deep + ', {"a": 2}]')
    frame, set_aside, _reader, _fix = read_all(path)
    assert frame["a"].to_list() == ["1", "2"]
    assert [(r.line, r.code, r.message) for r in set_aside] == [(2, "row.json", messages.MSG_JSON_TOO_DEEP)]


def test_nesting_just_below_the_decoder_limit_is_flattened(tmp_path: Path) -> None:
    record: dict = {"leaf": "v"}
    for _ in range(500):
        record = {"k": record}
    path = tmp_path / "deep.json"
    path.write_text(json.dumps([record]))
    frame, _set_aside, _reader, _fix = read_all(path)
    assert frame.columns[0] == ".".join(["k"] * 500 + ["leaf"])


def test_wrapped_json_array_is_found() -> None:
    frame, _set_aside, reader, _fix = read_all(CASES / "wrapped.json")
    assert reader.info.json_path == "$.customers"
    assert frame["Customer Id"].to_list() == ["DD37Cf93aecA6Dc", "1Ef7b82A4CAAD10"]


def test_object_with_two_arrays_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    path.write_text('{"a": [{"x": 1}], "b": [{"x": 2}]}')
    with pytest.raises(ReadError, match="more than one array"):
        read_all(path)


def test_ndjson_broken_lines_are_set_aside() -> None:
    frame, set_aside, _reader, _fix = read_all(CASES / "broken.ndjson")
    assert frame[LINE_COLUMN].to_list() == [1, 4]
    assert [(r.line, r.code) for r in set_aside] == [(2, "row.json"), (5, "row.json")]
    assert set_aside[1].message == messages.MSG_JSON_NOT_OBJECT.format(kind="array")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"a": "x\ty"}', "Invalid control character at column 9"),
        ('{"a": 1,}', "Expecting property name enclosed in double quotes at column 9"),
        ('{"a": tru}', "Expecting value at column 7"),
    ],
)
def test_a_broken_ndjson_line_names_its_problem_and_column_once(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "one.ndjson"
    path.write_text('{"a": "ok"}\n' + line + "\n")
    _frame, set_aside, _reader, _fix = read_all(path)
    assert [(r.line, r.message) for r in set_aside] == [(2, messages.MSG_JSON_BROKEN.format(problem=problem))]


def test_truncated_json_is_rejected_with_line_and_column() -> None:
    with pytest.raises(ReadError) as info:
        read_all(CASES / "truncated.json")
    assert str(info.value) == messages.JSON_TRUNCATED.format(line=3, column=63)


def test_empty_file_is_rejected() -> None:
    with pytest.raises(ReadError, match=f"^{messages.EMPTY_FILE}$"):
        read_all(CASES / "empty.csv")


def test_header_only_file_has_columns_and_no_records() -> None:
    frame, set_aside, reader, _fix = read_all(CASES / "header_only.csv")
    assert reader.columns == HEADER
    assert frame.height == 0
    assert set_aside == []


def test_binary_garbage_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(random.Random(7).randbytes(5000))
    with pytest.raises(ReadError, match="not a text file"):
        read_all(path)


def test_blank_lines_are_not_records_and_keep_lines_right(tmp_path: Path) -> None:
    text = (CASES / "three.csv").read_text().splitlines()
    path = tmp_path / "blank.csv"
    path.write_text("\n".join([text[0], text[1], "", text[2], text[3], "", ""]) + "\n")
    frame, set_aside, _reader, fix = read_all(path)
    assert set_aside == []
    assert frame[LINE_COLUMN].to_list() == [2, 4, 5]
    assert fix is None


def test_empty_json_array_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_text("[ ]\n")
    frame, set_aside, reader, _fix = read_all(path)
    assert (frame.height, set_aside, reader.columns) == (0, [], [])


def test_json_lines_in_a_file_named_json_are_read_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text('{"customer_id": "A1"}\n\n{"customer_id": "B2"}\n[1]\n')

    frame, set_aside, reader, _fix = read_all(path)

    assert reader.info.format == "ndjson"
    assert frame["customer_id"].to_list() == ["A1", "B2"]
    assert frame[LINE_COLUMN].to_list() == [1, 3]
    assert [(r.line, r.code) for r in set_aside] == [(4, "row.json")]


@pytest.mark.parametrize(
    "text",
    [
        '[{"customer_id": "A1"},\n {"customer_id": "A1"}]\n',  # an array, one record a line
        '{\n  "customers": [{"customer_id": "A1"}]\n}\n',  # a pretty-printed object
        '{"customers": [{"customer_id": "A1"}]}\n',  # a one-line object
        '{"customers": [\n{"customer_id": "A1"}]}\n',  # a first line that is not a whole object
    ],
)
def test_a_json_document_named_json_stays_a_document(tmp_path: Path, text: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(text)

    frame, set_aside, reader, _fix = read_all(path)

    assert (reader.info.format, set(frame["customer_id"].to_list()), set_aside) == ("json", {"A1"}, [])


def test_json_object_without_an_array_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "obj.json"
    path.write_text('{"customer_id": "A1"}')
    with pytest.raises(ReadError, match=f"^{messages.JSON_NOT_RECORDS}$"):
        read_all(path)
