"""A customers table of N generated rows, fast: COPY without the secondary indexes, then build them.

Used by ``bench/lake.py`` to reach 1M and 5M rows in minutes instead of an
hour of ingests. One transaction: the indexes are those the migrations
created (their definitions read back from ``pg_indexes``), rebuilt after the
COPY; the unique key stays on, so a range loaded twice fails instead of doubling.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.generate import generate
from bench.pg import Psql

TABLE = "customers_customer"
COLUMNS = (
    "index, customer_id, first_name, last_name, company, city, country, "
    "phone_1, phone_2, email, subscription_date, website"
)
_SCRIPT = """
SET maintenance_work_mem = '512MB';
CREATE TEMP TABLE bench_indexes AS
  SELECT indexname, indexdef FROM pg_indexes WHERE tablename = '{table}'
  AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = '{table}'::regclass);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM bench_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;
ALTER TABLE {table} ALTER source_file SET DEFAULT 'bench-fill.csv', ALTER ingested_at SET DEFAULT now();
\\copy {table} ({columns}) FROM '{path}' WITH (FORMAT csv, HEADER true)
ALTER TABLE {table} ALTER source_file DROP DEFAULT, ALTER ingested_at DROP DEFAULT;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM bench_indexes LOOP EXECUTE r.indexdef; END LOOP;
END $$;
"""


def customers_fill(db: Psql, *, rows: int, seed: int, workdir: Path) -> tuple[int, float]:
    """Grow the customers table to ``rows`` rows (generated ``seed`` sequence); (rows added, seconds)."""
    current = int(db.value(f"SELECT count(*) FROM {TABLE}"))
    if current >= rows:
        return 0, 0.0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        data = Path(folder) / "fill.csv"
        generate(data, rows=rows - current, seed=seed, start=current)
        script = Path(folder) / "fill.sql"
        script.write_text(_SCRIPT.format(table=TABLE, columns=COLUMNS, path=data))
        db.run_file(script)
    db.run(f"ANALYZE {TABLE}")
    return rows - current, time.perf_counter() - started
