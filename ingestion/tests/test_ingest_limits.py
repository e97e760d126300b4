"""Files refused whole: too many bytes once decompressed, a damaged gzip, or one column name twice."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from customers.models import Customer
from dataflow.readers.base import CORRUPT_GZIP, DECOMPRESSED_TOO_BIG, DUPLICATE_HEADER, FILE_TOO_BIG
from ingestion.models import RunStatus
from testsupport.ingest import HEADER, SAMPLE, customer_lines, ingest, run_of, write_customers

pytestmark = pytest.mark.django_db


def test_a_small_gzip_expanding_beyond_the_limit_is_rejected_before_it_is_read_to_the_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bomb.csv.gz"
    line = customer_lines(1)[0]
    with gzip.open(path, "wb") as fh:  # ~9 MB of CSV in a few KB of gzip
        fh.write((HEADER + "\n").encode())
        for _ in range(50):
            fh.write(((line + "\n") * 1000).encode())
    assert path.stat().st_size < 100_000
    result = ingest(tmp_path, path, max_bytes=1_000_000)
    assert result.status == RunStatus.REJECTED
    assert result.message == f"bomb.csv.gz: rejected: {DECOMPRESSED_TOO_BIG.format(limit=1_000_000)}"
    assert Customer.objects.count() == 0
    assert run_of(result).error_message == result.message


def _damaged(whole: bytes, damage: str) -> bytes:
    if damage == "cut short":
        return whole[: len(whole) // 2]
    if damage == "bad crc":
        return whole[:-8] + bytes(b ^ 0xFF for b in whole[-8:-4]) + whole[-4:]
    middle = len(whole) // 2  # corrupt deflate data
    return whole[:middle] + bytes(b ^ 0x5A for b in whole[middle : middle + 64]) + whole[middle + 64 :]


@pytest.mark.parametrize("damage", ["cut short", "bad crc", "corrupt data"])
@pytest.mark.parametrize("suffix", [".csv.gz", ".json.gz"])
def test_a_damaged_gzip_is_rejected_as_a_bad_file_not_failed_as_worth_a_retry(
    tmp_path: Path, damage: str, suffix: str
) -> None:
    if suffix == ".json.gz":
        records = [dict(zip(HEADER.split(","), line.split(","), strict=True)) for line in customer_lines(300)]
        content = json.dumps(records).encode()
    else:
        content = ("\n".join([HEADER, *customer_lines(300)]) + "\n").encode()
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(_damaged(gzip.compress(content), damage))
    result = ingest(tmp_path, path)
    assert result.status == RunStatus.REJECTED
    assert result.message.startswith(f"damaged{suffix}: rejected: {CORRUPT_GZIP.format(problem='')}")
    assert "\n" not in result.message
    assert Customer.objects.count() == 0
    assert run_of(result).error_message == result.message


def test_a_plain_file_above_the_limit_is_rejected_by_its_size(tmp_path: Path) -> None:
    result = ingest(tmp_path, SAMPLE, max_bytes=1000)
    size = SAMPLE.stat().st_size
    assert result.message == f"{SAMPLE.name}: rejected: {FILE_TOO_BIG.format(size=size, limit=1000)}"


def test_a_file_within_the_limit_loads(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "ok.csv", 20)
    assert ingest(tmp_path, path, max_bytes=path.stat().st_size).status == RunStatus.SUCCEEDED


def test_a_column_named_twice_rejects_the_file_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    lines = customer_lines(3)
    path.write_text(HEADER + ",Email\n" + "\n".join(f"{line},other@example.com" for line in lines) + "\n")
    result = ingest(tmp_path, path)
    assert result.status == RunStatus.REJECTED
    assert (
        result.message
        == f"twice.csv: rejected: {DUPLICATE_HEADER.format(column='Email', first=10, second=13)}"
    )
    assert Customer.objects.count() == 0
