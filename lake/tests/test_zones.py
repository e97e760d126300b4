"""The raw and processed zones (lake/zones.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from lake import (
    LakeError,
    lake_processed_read,
    lake_processed_write,
    lake_raw_read,
    lake_raw_receipts,
    lake_raw_write,
)
from lake.config import LakeConfig
from lake.errors import ERR_RAW_CHECKSUM, ERR_RAW_MISSING
from lake.zones import raw_object_path

CONTENT = b"index,customer_id\r\n1,A1\r\n2,\xe9t\xe9\r\n"  # CRLF and Latin-1 bytes kept as they are


@pytest.fixture
def config(tmp_path: Path) -> LakeConfig:
    return LakeConfig(uri=str(tmp_path / "lake"))


@pytest.fixture
def fetched(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "customers.csv"
    path.write_bytes(CONTENT)
    return path, hashlib.sha256(CONTENT).hexdigest()


def test_raw_zone_holds_exactly_the_fetched_bytes(config, fetched) -> None:
    path, sha = fetched
    receipt = lake_raw_write(
        path=path, sha256=sha, source="sftp", filename="customers.csv", run_id=7, config=config
    )

    stored = lake_raw_read(sha256=sha, config=config)
    assert stored == CONTENT
    assert hashlib.sha256(stored).hexdigest() == sha
    assert receipt.object_path == raw_object_path(sha)
    assert (Path(config.uri) / receipt.object_path).read_bytes() == CONTENT


def test_same_bytes_are_kept_once_with_a_receipt_per_run(config, fetched) -> None:
    path, sha = fetched
    first = lake_raw_write(path=path, sha256=sha, source="local", filename="a.csv", run_id=1, config=config)
    second = lake_raw_write(path=path, sha256=sha, source="sftp", filename="b.csv", run_id=2, config=config)

    assert (first.created, second.created) == (True, False)
    receipts = lake_raw_receipts(sha256=sha, config=config)
    assert [(r["run_id"], r["source"], r["filename"]) for r in receipts] == [
        (1, "local", "a.csv"),
        (2, "sftp", "b.csv"),
    ]
    assert len(list((Path(config.uri) / "raw" / "objects").rglob("*"))) == 2  # one folder, one object


def test_a_checksum_mismatch_stores_nothing(config, fetched) -> None:
    path, _ = fetched
    wrong = "0" * 64
    with pytest.raises(LakeError) as error:
        lake_raw_write(path=path, sha256=wrong, source="local", filename="a.csv", run_id=1, config=config)
    actual = hashlib.sha256(CONTENT).hexdigest()
    assert str(error.value) == ERR_RAW_CHECKSUM.format(path=path, actual=actual, expected=wrong)
    assert not (Path(config.uri) / "raw").exists()


def test_a_missing_file_is_a_clear_error(config, tmp_path) -> None:
    missing = tmp_path / "gone.csv"
    with pytest.raises(LakeError) as error:
        lake_raw_write(
            path=missing, sha256="0" * 64, source="local", filename="gone.csv", run_id=1, config=config
        )
    assert str(error.value) == ERR_RAW_MISSING.format(path=missing)


def test_processed_zone_keeps_each_runs_records_with_extra_columns(config) -> None:
    frame = pl.DataFrame(
        {"customer_id": ["A1", "B2"], "country": ["France", None], "loyalty_tier": ["gold", "silver"]}
    )
    relative = lake_processed_write(run_id=3, frame=frame, config=config)

    assert relative == "processed/customers/run_id=3/part-00000.parquet"
    assert lake_processed_read(run_id=3, config=config).equals(frame)
