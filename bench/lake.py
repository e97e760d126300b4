"""Benchmark of the lake's cost per run: a small file into a large table, lake on against lake off.

    .venv/bin/python bench/lake.py --sizes 1000000,5000000 --run-rows 1000

In one run, in its own database (``--db-name``, default ``bench_lake``) and a
lake in a temporary folder (catalog in that database, as by default):

1. the customers table is filled to each size in turn (``bench/fill.py``: COPY,
   then the indexes);
2. ``--repeat`` times ``manage.py ingest`` of a file of ``--run-rows`` new
   customers with ``LAKE_ENABLED=false`` (the baseline), then ``lake sync``
   (runs loaded with the lake off are not in it), then ``--repeat`` times
   the same with the lake on; wall time (process start to exit) and the peak
   RSS of the process tree; after each series, ``--repeat`` more files ingested
   one after another in one warmed-up process (``bench/warm.py``), as a worker
   runs them: the cost per run without the process's start and imports;
3. ``manage.py lake maintenance`` (what accumulated is compacted), then the
   lake's customer count is checked against PostgreSQL's.

Prints, per size, the median times, the ratio lake on / lake off (target
<= 1.5) and the peak RSS; then how the ratio moved from the first size to
the last (target: flat).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fill import customers_fill  # noqa: E402
from bench.generate import generate  # noqa: E402
from bench.measure import Timed, timed  # noqa: E402
from bench.pg import Psql, bench_env  # noqa: E402

RUN_START = 50_000_000
"""Run files number their customers from here: never a customer of the filled table."""


@dataclass
class SizeResult:
    rows: int
    fill_seconds: float
    sync_seconds: float
    off: list[Timed] = field(default_factory=list)
    on: list[Timed] = field(default_factory=list)
    warm_off: list[float] = field(default_factory=list)
    warm_on: list[float] = field(default_factory=list)
    maintenance_seconds: float = 0.0
    maintenance: str = ""

    @property
    def off_s(self) -> float:
        return statistics.median(t.seconds for t in self.off)

    @property
    def on_s(self) -> float:
        return statistics.median(t.seconds for t in self.on)

    @property
    def ratio(self) -> float:
        return self.on_s / self.off_s


def _manage(*args: str, env: dict[str, str]) -> Timed:
    return timed([sys.executable, "manage.py", *args], env=env, cwd=ROOT)


class Bench:
    def __init__(self, opts: argparse.Namespace, workdir: Path) -> None:
        self.opts, self.workdir = opts, workdir
        self.on_env = bench_env(
            opts.db_name,
            LAKE_ENABLED="true",
            LAKE_URI=str(workdir / "lake"),
            INGEST_WORK_DIR=str(workdir / "work"),
        )
        self.off_env = self.on_env | {"LAKE_ENABLED": "false"}
        self.files = 0

    def reset(self) -> Psql:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0", "--noinput"],
            cwd=ROOT,
            env=self.on_env,
            check=True,
        )
        db = Psql(self.on_env)
        db.run("TRUNCATE customers_customer, etl_ingestionrun CASCADE")
        db.run("DROP SCHEMA IF EXISTS iceberg_catalog CASCADE")
        shutil.rmtree(self.workdir / "lake", ignore_errors=True)
        return db

    def run_file(self) -> Path:
        self.files += 1
        path = self.workdir / "inbox" / f"run-{self.files:03d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        start = RUN_START + self.files * self.opts.run_rows
        generate(path, rows=self.opts.run_rows, seed=self.opts.seed, start=start)
        return path

    def _runs(self, rows: int, label: str, env: dict[str, str], runs: list[Timed]) -> None:
        for _ in range(self.opts.repeat):
            run = _manage("ingest", "--json", "--path", str(self.run_file()), env=env)
            runs.append(run)
            print(
                f"[{rows:,}] lake {label} {run.seconds:6.2f}s  peak RSS {run.peak_mib:,.0f} MiB", flush=True
            )

    def _warm(self, rows: int, label: str, env: dict[str, str], runs: list[float]) -> None:
        """A warm-up file, then ``--repeat`` files, in one process (bench/warm.py)."""
        files = [str(self.run_file()) for _ in range(self.opts.repeat + 1)]
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "warm.py"), *files],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        out = json.loads(done.stdout.strip().splitlines()[-1])
        runs.extend(out["runs"])
        times = " / ".join(f"{t:.2f}s" for t in out["runs"])
        warm_up = out["warm_up"]
        print(f"[{rows:,}] lake {label} in one process: warm-up {warm_up:.2f}s, then {times}", flush=True)

    def size(self, db: Psql, rows: int) -> SizeResult:
        added, fill_s = customers_fill(db, rows=rows, seed=self.opts.seed, workdir=self.workdir)
        print(f"[{rows:,}] filled {added:,} rows in {fill_s:.1f}s", flush=True)
        result = SizeResult(rows=rows, fill_seconds=fill_s, sync_seconds=0.0)
        # Lake off first: a run loaded while the lake is off makes the next lake step a rebuild.
        self._runs(rows, "off", self.off_env, result.off)
        self._warm(rows, "off", self.off_env, result.warm_off)
        sync = _manage("lake", "sync", env=self.on_env)
        result.sync_seconds = sync.seconds
        print(f"[{rows:,}] lake sync {sync.seconds:.1f}s, peak RSS {sync.peak_mib:,.0f} MiB", flush=True)
        self._runs(rows, "on ", self.on_env, result.on)
        self._warm(rows, "on ", self.on_env, result.warm_on)
        maintenance = _manage("lake", "maintenance", env=self.on_env)
        result.maintenance_seconds, result.maintenance = maintenance.seconds, maintenance.stdout.strip()
        lake_count = _manage(
            "lake", "query", "--format", "csv", "SELECT count(*) AS n FROM curated.customers", env=self.on_env
        ).stdout.split()[-1]
        pg_count = db.value("SELECT count(*) FROM customers_customer")
        assert lake_count == pg_count, f"lake has {lake_count} customers, PostgreSQL {pg_count}"
        return result


def _report(results: list[SizeResult], *, run_rows: int) -> None:
    print()
    print(f"a file of {run_rows:,} new customers into a table of N rows (median of the runs)")
    print(f"{'N':>11} {'lake off':>9} {'lake on':>9} {'on/off':>7} {'peak RSS on':>12} {'maintenance':>12}")
    for r in results:
        peak = max(t.peak_mib for t in r.on)
        print(
            f"{r.rows:>11,} {r.off_s:>8.2f}s {r.on_s:>8.2f}s {r.ratio:>7.2f} {peak:>8,.0f} MiB "
            f"{r.maintenance_seconds:>11.1f}s"
        )
    print("target: on/off <= 1.5 at every size")
    print("the same files in one warmed-up process, as a worker runs them (median of the runs):")
    for r in results:
        off, on = statistics.median(r.warm_off), statistics.median(r.warm_on)
        print(f"{r.rows:>11,} {off:>8.2f}s {on:>8.2f}s {on / off:>7.2f}")
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"ratio at {last.rows:,} / ratio at {first.rows:,} = {last.ratio / first.ratio:.2f} "
            "(target: flat, ~1.0); "
            f"lake-on time {last.on_s / first.on_s:.2f}x for {last.rows / first.rows:.0f}x the rows"
        )
        peak_first = max(t.peak_mib for t in first.on)
        peak_last = max(t.peak_mib for t in last.on)
        print(
            f"peak RSS lake on, {last.rows:,} / {first.rows:,} = {peak_last / peak_first:.2f} (target <= 1.1)"
        )
    for r in results:
        print(f"[{r.rows:,}] maintenance: {r.maintenance}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="table sizes, comma-separated, ascending")
    parser.add_argument("--run-rows", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db-name", default="bench_lake")
    parser.add_argument("--workdir", type=Path, default=None)
    return parser.parse_args()


def main() -> None:
    opts = _arguments()
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="bench-lake-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(opts, workdir)
    started = time.perf_counter()
    db = bench.reset()
    results = [bench.size(db, int(size)) for size in opts.sizes.split(",")]
    _report(results, run_rows=opts.run_rows)
    print(f"(benchmark took {time.perf_counter() - started:.0f}s)")
    if opts.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
