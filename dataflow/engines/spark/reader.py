"""Read for Spark: the shared readers stream the file into Parquet parts Spark reads in parallel.

The file is parsed by the very readers the Polars engine uses (CSV dialects,
encodings, gzip, JSON flattening, ragged rows set aside, line numbers), so
both engines see the same records with the same lines. Batches are written
as they come (memory stays bounded by the batch size); records the reader
set aside go to the quarantine staging exactly as in the Polars engine.

Spark reads column names with dots (``contact.email``, from flattened JSON)
as struct paths, so the parts use positional names (``_c0``, ``_c1``, ...)
and :class:`Spooled` keeps the way back.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dataflow.context import ProgressReporter
from dataflow.mapping import ColumnMapping, columns_map, extra_columns
from dataflow.quality.batch import QualityTally
from dataflow.readers import LINE_COLUMN, RecordReader
from dataflow.schema import Schema
from dataflow.stages import set_aside_stage


@dataclass
class Spooled:
    """The file as Parquet parts, plus what the read learnt on the way."""

    folder: Path
    parts: list[Path] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """Source column → its name in the parts."""
    mapping: ColumnMapping | None = None
    extra: dict[str, None] = field(default_factory=dict)
    """Source columns feeding no field, in order of appearance."""
    line_ranges: list[tuple[int, int]] = field(default_factory=list)
    """(first, last) line of each part: the reader's batches, which per-batch figures follow."""
    records: int = 0
    """Records in the parts (the reader's set-aside ones are not)."""
    set_aside: int = 0

    def spool_mapping(self) -> ColumnMapping:
        """The mapping with source columns renamed as in the parts."""
        assert self.mapping is not None
        sources = {f: self.names[s] for f, s in self.mapping.sources.items() if s in self.names}
        return ColumnMapping(sources=sources, extra=self.mapping.extra, matched_by=self.mapping.matched_by)

    def originals(self) -> dict[str, str]:
        """Part column → source column (the way back)."""
        return {spooled: source for source, spooled in self.names.items()}


def spool_file(
    *,
    reader: RecordReader,
    folder: Path,
    schema: Schema,
    mapping: ColumnMapping | None,
    tally: QualityTally,
    progress: ProgressReporter | None = None,
) -> Spooled:
    """Every batch of ``reader`` into ``folder`` as Parquet; set-aside records staged for quarantine
    (and counted in ``tally``, the file's quality figures)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spooled = Spooled(folder=folder, mapping=mapping, names={LINE_COLUMN: LINE_COLUMN})
    for batch in reader.batches():
        spooled.set_aside += set_aside_stage(batch.set_aside, tally=tally)
        if batch.frame.height:
            if spooled.mapping is None:  # JSON whose first records were all set aside
                columns = [c for c in batch.frame.columns if c != LINE_COLUMN]
                spooled.mapping = columns_map(columns, schema=schema)
            spooled.extra.update(dict.fromkeys(extra_columns(batch.frame.columns, mapping=spooled.mapping)))
            for column in batch.frame.columns:
                spooled.names.setdefault(column, f"_c{len(spooled.names) - 1}")
            part = folder / f"part-{len(spooled.parts):05d}.parquet"
            batch.frame.rename(spooled.names, strict=False).write_parquet(part)
            spooled.parts.append(part)
            lines = batch.frame.get_column(LINE_COLUMN)
            spooled.line_ranges.append((int(lines.min()), int(lines.max())))  # type: ignore[arg-type]
            spooled.records += batch.frame.height
        if progress:
            progress.advance(bytes_read=reader.bytes_read, rows=spooled.records)
    return spooled
