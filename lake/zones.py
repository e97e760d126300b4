"""The raw and processed zones.

raw/: every fetched file's original bytes, content-addressed by sha256 and
never rewritten, with one receipt per run that saw it (source, name, run).
Written before processing, so rejected and failed files are kept too.

processed/: the cleaned records of each run as Parquet, extra columns included.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from lake.config import LakeConfig, lake_config
from lake.errors import ERR_RAW_CHECKSUM, ERR_RAW_CONFLICT, ERR_RAW_MISSING, LakeError
from lake.storage import lake_fs

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RawReceipt:
    sha256: str
    size: int
    source: str
    filename: str
    run_id: int | None
    object_path: str
    """Lake path of the bytes (``raw/objects/ab/abcd...``)."""
    written_at: str
    created: bool
    """False when the same bytes were already kept (by an earlier run)."""


def raw_object_path(sha256: str) -> str:
    return f"raw/objects/{sha256[:2]}/{sha256}"


def raw_receipt_path(sha256: str, run_id: int | None) -> str:
    return f"raw/receipts/{sha256}/run-{run_id if run_id is not None else 'none'}.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def lake_raw_write(
    *,
    path: Path,
    sha256: str,
    source: str,
    filename: str,
    run_id: int | None,
    config: LakeConfig | None = None,
) -> RawReceipt:
    """Keep ``path``'s bytes under ``raw/`` (once per checksum) and record who fetched it.

    The checksum is verified before anything is stored: the raw zone only ever
    holds bytes whose name is their sha256.
    """
    config = config or lake_config()
    lake = lake_fs(config)
    path = Path(path)
    if not path.is_file():
        raise LakeError(ERR_RAW_MISSING.format(path=path))
    actual = file_sha256(path)
    if actual != sha256:
        raise LakeError(ERR_RAW_CHECKSUM.format(path=path, actual=actual, expected=sha256))
    size = path.stat().st_size
    object_path = raw_object_path(sha256)
    stored = lake.size(object_path)
    created = stored is None
    if stored is not None and stored != size:
        raise LakeError(ERR_RAW_CONFLICT.format(sha256=sha256, stored=stored, size=size))
    if created:
        # Written under a temporary name and moved into place: a crash never
        # leaves a partial object under a checksum name (an S3 PUT is atomic already).
        target = object_path if config.is_s3 else f"{object_path}.partial-{uuid.uuid4().hex}"
        lake.filesystem.create_dir(lake.path(object_path.rsplit("/", 1)[0]), recursive=True)
        with path.open("rb") as handle, lake.filesystem.open_output_stream(lake.path(target)) as out:
            while chunk := handle.read(_CHUNK):
                out.write(chunk)
        if target != object_path:
            lake.move(target, object_path)
    receipt = RawReceipt(
        sha256=sha256,
        size=size,
        source=source,
        filename=filename,
        run_id=run_id,
        object_path=object_path,
        written_at=datetime.now(tz=UTC).isoformat(),
        created=created,
    )
    lake.write_bytes(raw_receipt_path(sha256, run_id), json.dumps(asdict(receipt), indent=2).encode())
    return receipt


def lake_raw_read(*, sha256: str, config: LakeConfig | None = None) -> bytes:
    return lake_fs(config or lake_config()).read_bytes(raw_object_path(sha256))


def lake_raw_receipts(*, sha256: str, config: LakeConfig | None = None) -> list[dict[str, object]]:
    """Every run's receipt for these bytes, oldest run first."""
    lake = lake_fs(config or lake_config())
    receipts = [json.loads(lake.read_bytes(p)) for p in lake.list(f"raw/receipts/{sha256}")]
    return sorted(receipts, key=lambda r: (r["run_id"] is None, r["run_id"] or 0))


def processed_path(run_id: int, dataset: str = "customers", part: int = 0) -> str:
    return f"processed/{dataset}/run_id={run_id}/part-{part:05d}.parquet"


def lake_processed_write(
    *, run_id: int, frame: pl.DataFrame, dataset: str = "customers", config: LakeConfig | None = None
) -> str:
    """Write the run's cleaned records (every column, extras included) as one Parquet file.

    Rewriting the same run's file (a repair) replaces it whole.
    """
    lake = lake_fs(config or lake_config())
    relative = processed_path(run_id, dataset)
    for stale in lake.list(relative.rsplit("/", 1)[0]):
        lake.filesystem.delete_file(lake.path(stale))
    lake.filesystem.create_dir(lake.path(relative.rsplit("/", 1)[0]), recursive=True)
    pq.write_table(frame.to_arrow(), lake.path(relative), filesystem=lake.filesystem)
    return relative


def lake_processed_upload(
    *, run_id: int, parts: Sequence[Path], dataset: str = "customers", config: LakeConfig | None = None
) -> list[str]:
    """Copy a run's Parquet parts (spooled batch by batch during the run) into processed/."""
    lake = lake_fs(config or lake_config())
    folder = processed_path(run_id, dataset).rsplit("/", 1)[0]
    for stale in lake.list(folder):  # a repair replaces the run's files whole
        lake.filesystem.delete_file(lake.path(stale))
    written = []
    for number, part in enumerate(parts):
        relative = processed_path(run_id, dataset, number)
        lake.write_bytes(relative, Path(part).read_bytes())
        written.append(relative)
    return written


def lake_processed_read(
    *, run_id: int, dataset: str = "customers", config: LakeConfig | None = None
) -> pl.DataFrame:
    """All the run's processed records (its parts in order)."""
    lake = lake_fs(config or lake_config())
    folder = processed_path(run_id, dataset).rsplit("/", 1)[0]
    tables = [pq.read_table(lake.path(p), filesystem=lake.filesystem) for p in lake.list(folder)]
    # Parts may differ in extra columns (a JSON key first seen in a later batch): absent ones are null.
    frame = pl.from_arrow(pa.concat_tables(tables, promote_options="default"))
    assert isinstance(frame, pl.DataFrame)
    return frame
