"""Benchmark: the same generated file through both engines (``ingest --engine polars|spark``).

    .venv/bin/python bench/engines.py --rows 1000000 --rows 5000000

For each size: generates a seeded customers file (``bench/generate.py``'s
generator), then runs ``manage.py ingest --path <file> --force --engine E``
for E = polars, then spark, each in a fresh process into an empty customers
table. Prints, per engine: wall time (process start to exit), rows/s, the
Spark session start-up (from the run report) and the peak resident memory of
the whole process tree (the Python process plus the JVM and Spark's Python
workers: sampled every 50 ms from /proc, summed over the tree: bench/measure.py), and the
ratio spark / polars. Runs in its own database (``--db-name``, default
``bench_engines``) with the lake off, so only the engines are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import generate  # noqa: E402
from bench.measure import timed  # noqa: E402


@dataclass
class Measured:
    seconds: float
    peak_rss_kib: int
    result: dict[str, object]


def measured(cmd: list[str], *, env: dict[str, str]) -> Measured:
    """Run ``cmd``; wall time, peak RSS of its whole process tree (``bench/measure.py``), its JSON output."""
    run = timed(cmd, env=env, cwd=ROOT)
    return Measured(
        seconds=run.seconds,
        peak_rss_kib=max(run.tree_peak_kib, run.own_peak_kib),
        result=json.loads(run.stdout.strip().splitlines()[-1]),
    )


def run_report(run_id: int, *, env: dict[str, str]) -> dict[str, Any]:
    """The run's report (``seconds`` per stage, ``spark_read``)."""
    code = (
        "import django, json; django.setup(); from ingestion.models import IngestionRun; "
        f"print(json.dumps(IngestionRun.objects.get(pk={run_id}).report))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per file (repeatable)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db-name", default="bench_engines")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--spark-master", default=None, help="SPARK_MASTER for the Spark run")
    opts = parser.parse_args()
    sizes = opts.rows or [200_000, 1_000_000]

    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("LOG_LEVEL", "warning")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env["DB_NAME"] = opts.db_name
    env["LAKE_ENABLED"] = "false"
    if opts.spark_master:
        env["SPARK_MASTER"] = opts.spark_master
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="bench-engines-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env["INGEST_WORK_DIR"] = str(workdir / "work")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", "--noinput"], cwd=ROOT, env=env, check=True
    )
    truncate = (
        "import django; django.setup(); from django.db import connection; "
        "connection.cursor().execute('TRUNCATE customers_customer, etl_ingestionrun CASCADE')"
    )
    print(f"{os.cpu_count()} CPUs; SPARK_MASTER={env.get('SPARK_MASTER', 'local[*]')}")
    print(f"{'rows':>10} {'engine':>7} {'seconds':>8} {'rows/s':>10} {'session s':>9} {'peak RSS':>9}")
    for rows in sizes:
        data = workdir / f"customers-{rows}.csv"
        generate(data, rows=rows, seed=opts.seed)
        results: dict[str, Measured] = {}
        for engine in ("polars", "spark"):
            subprocess.run([sys.executable, "-c", truncate], cwd=ROOT, env=env, check=True)
            cmd = [sys.executable, "manage.py", "ingest", "--json", "--force", "--engine", engine, "--path"]
            run = measured([*cmd, str(data)], env=env)
            loaded = run.result["counts"]["loaded"]  # type: ignore[index]
            assert loaded == rows, f"{engine} loaded {loaded} of {rows}"
            report = run_report(int(run.result["run_id"]), env=env)  # type: ignore[call-overload]
            session = report.get("seconds", {}).get("spark_session", 0.0)
            results[engine] = run
            print(
                f"{rows:>10,} {engine:>7} {run.seconds:>8.1f} {rows / run.seconds:>10,.0f} "
                f"{float(session):>9.1f} {run.peak_rss_kib / 1024:>6.0f}MiB"
            )
            if engine == "spark":
                print(f"{'':>10}   spark read: {report.get('spark_read')}; seconds: {report.get('seconds')}")
        ratio_time = results["spark"].seconds / results["polars"].seconds
        ratio_rss = results["spark"].peak_rss_kib / max(results["polars"].peak_rss_kib, 1)
        print(f"{rows:>10,}   spark/polars: time x{ratio_time:.1f}, peak RSS x{ratio_rss:.1f}")
        data.unlink()


if __name__ == "__main__":
    main()
