"""Benchmark of the customers API on N synthetic rows, served by gunicorn, measured with wrk.

    .venv/bin/python bench/api.py --rows 1000000

Steps: create a scratch database (``bench_api``, migrated like the real one),
load N customers by COPY (indexes dropped during the load and rebuilt after,
then ANALYZE), start gunicorn with 2 workers on 127.0.0.1 (DEBUG off, Redis
throttle counters when Redis answers, else the database cache), then run wrk
on each scenario twice: one connection (service latency p50/p99) and 16
connections (throughput), in --rounds interleaved rounds whose medians are
kept. ``/healthz`` (one Django view, one ``SELECT 1``) is measured in the same
rounds as the floor. Prints a table and the ratios the issue
sets targets for: first page p50 / healthz p50 (<= 3), first page throughput /
healthz throughput at 16 connections (>= 0.3), deep page p50 / first page p50
(<= 1.1) and search p50 / first page p50 (<= 2). The database is dropped at
the end unless --keep-db (a kept database with N rows is reused by the next run).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS_PER_FILE = 100_000  # one partner file: these rows share one ingested_at
CHUNK = 100_000


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


FIRST_NAMES = _words(
    "Alice Alicia Aaron Abigail Adam Adrian Aiden Alan Albert Alex Alexa Amanda Amber Amy Andrea Andrew "
    "Angela Anna Anthony Ashley Austin Barbara Benjamin Beth Betty Bill Bob Brandon Brenda Brian Brittany "
    "Bruce Carl Carol Caroline Catherine Charles Chloe Chris Christina Cindy Claire Colin Connor Craig "
    "Crystal Daniel Danielle David Debbie Dennis Diana Diane Donald Donna Dorothy Douglas Dylan Edward "
    "Elaine Elijah Elizabeth Ella Emily Emma Eric Erin Ethan Eugene Evan Evelyn Frances Frank Gabriel Gary "
    "George Gerald Gloria Grace Gregory Hannah Harold Heather Helen Henry Holly Ian Isaac Isabella Jack "
    "Jacob Jacqueline James Jane Janet Jason Jean Jeffrey Jennifer Jeremy Jesse Jessica Joan John Jordan "
    "Jose Joseph Joshua Joyce Juan Judith Julia Julie Justin Karen Katherine Kathleen Keith Kelly Kenneth "
    "Kevin Kimberly Kyle Larry Laura Lauren Lawrence Leah Linda Lisa Logan Louis Lucas Madison Malik "
    "Margaret Maria Marie Marilyn Mark Martha Mary Matthew Megan Melissa Michael Michelle Nancy Natalie "
    "Nathan Nicholas Nicole Noah Olivia Pamela Patricia Patrick Paul Peter Philip Rachel Ralph Randy "
    "Raymond Rebecca Richard Robert Roger Ronald Rose Russell Ruth Ryan Samantha Samuel Sandra Sara Scott "
    "Sean Sharon Sheryl Shirley Sophia Stephanie Stephen Steven Susan Teresa Terry Thomas Timothy Tyler "
    "Victoria Vincent Virginia Walter Wayne William Zachary"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Baxter Lozano Rasmussen Vega Gentry Hobbs Stephenson Zuniga Colon Mata Powell Jenkins Perry Russell "
    "Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson"
)
COUNTRIES = _words(
    "USA|Chile|Djibouti|France|Germany|Brazil|India|Japan|Kenya|Mexico|Norway|Peru|Poland|Spain|Sweden|"
    "Canada|Egypt|Ghana|Italy|Nepal|Oman|Qatar|Togo|Yemen|Fiji|Cuba|Iran|Iraq|Laos|Mali|Chad|Niger|"
    "United Kingdom|South Africa|New Zealand|Saudi Arabia|Sri Lanka|Costa Rica|El Salvador|Cape Verde",
    sep="|",
)
CITIES = [f"{p} {s}" for p in ("East", "West", "North", "South", "Port", "Lake", "New") for s in LAST_NAMES]
SUFFIXES = ("Group", "Ltd", "PLC", "Inc", "LLC", "and Sons")


HEALTHZ = "/healthz (floor)"
FIRST = "first page"
DEEP = "page after N nexts"
SEARCH = "search=alice"
# (numerator, denominator, measure, comparison, target): the targets.
TARGETS = (
    (FIRST, HEALTHZ, "p50", "<=", 3.0),
    (FIRST, HEALTHZ, "req/s at 16 connections", ">=", 0.3),
    (DEEP, FIRST, "p50", "<=", 1.1),
    (SEARCH, FIRST, "p50", "<=", 2.0),
)


@dataclass(frozen=True)
class Result:
    name: str
    p50_ms: float
    p99_ms: float
    rps_1: float
    p50_16_ms: float
    rps_16: float


def _synthetic_chunk(start: int, stop: int) -> bytes:
    """Rows [start, stop) as COPY-ready CSV, generated column-wise by Polars (deterministic)."""
    import polars as pl

    n = pl.int_range(start, stop, eager=True, dtype=pl.Int64)

    def pick(pool: list[str] | tuple[str, ...], seed: int) -> pl.Series:
        return pl.Series(list(pool)).gather((n.hash(seed) % len(pool)).cast(pl.Int64))

    first, last = pick(FIRST_NAMES, 1), pick(LAST_NAMES, 2)
    file_no = n // ROWS_PER_FILE
    frame = pl.DataFrame(
        {
            "index": n % ROWS_PER_FILE + 1,
            "customer_id": n.map_elements(lambda v: f"C{v:014X}", return_dtype=pl.String),
            "first_name": first,
            "last_name": last,
            "company": pick(LAST_NAMES, 3) + "-" + pick(LAST_NAMES, 4) + " " + pick(SUFFIXES, 5),
            "city": pick(CITIES, 6),
            "country": pick(COUNTRIES, 7),
            "phone_1": (n.hash(8) % 9_000_000_000 + 1_000_000_000).cast(pl.String),
            "phone_2": pl.select(
                pl.when(n % 2 == 0).then((n.hash(11) % 9_000_000_000 + 1_000_000_000).cast(pl.String))
            ).to_series(),
            "email": first.str.to_lowercase() + "." + n.cast(pl.String) + "@example.com",
            "subscription_date": pl.Series(
                (n.hash(9) % 1500).cast(pl.Int32) + 18_000  # days since 1970: 2019-04 .. 2023-05
            ).cast(pl.Date),
            "website": "https://www." + pick(LAST_NAMES, 10).str.to_lowercase() + ".com/",
            "source_file": "partner-" + file_no.cast(pl.String) + ".csv",
            "ingested_at": (file_no * 3600 + 1_767_225_600).cast(pl.Int64) * 1_000_000,
        }
    ).with_columns(pl.col("ingested_at").cast(pl.Datetime("us", "UTC")))
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%z")
    return buffer.getvalue()


def load_rows(rows: int) -> float:
    """COPY ``rows`` customers into an empty table; secondary indexes rebuilt after. Seconds taken."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'customers_customer' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        # A rebuilt index forgets its per-column statistics target (migration 0006 sets one).
        cursor.execute(
            "SELECT c.relname, a.attnum, a.attstattarget FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a ON a.attrelid = i.indexrelid "
            "WHERE i.indrelid = 'customers_customer'::regclass AND a.attstattarget > 0"
        )
        targets = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        columns = (
            "index, customer_id, first_name, last_name, company, city, country, phone_1, phone_2, "
            "email, subscription_date, website, source_file, ingested_at"
        )
        raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
        for start in range(0, rows, CHUNK):
            data = _synthetic_chunk(start, min(rows, start + CHUNK))
            with raw.copy(f"COPY customers_customer ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(data)
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, column, target in targets:
            cursor.execute(f'ALTER INDEX "{name}" ALTER COLUMN {column} SET STATISTICS {target}')
        cursor.execute("ANALYZE customers_customer")
    return time.perf_counter() - started


def _to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, token: str, *, connections: int, seconds: int) -> tuple[float, float, float]:
    """p50 ms, p99 ms, requests/s; fails if any response was not 2xx."""
    threads = min(2, connections)
    output = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"),
            *("-H", f"Authorization: Token {token}", url),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors for {url}:\n{output}")
    p50 = _to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return p50, p99, rps


def _redis_url() -> str:
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/14", socket_connect_timeout=1).ping()
    except Exception:  # any failure: fall back to the database cache
        return ""
    return "redis://127.0.0.1:6379/14"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=4, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario, interleaved; medians kept")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=None, help="gunicorn port (default: a free one)")
    parser.add_argument("--deep", type=int, default=500, help="`next` links followed for the deep page")
    parser.add_argument("--db-name", default="bench_api")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/api.py: wrk not found; install it: apt-get install -y wrk")

    os.environ.update(DEBUG="true", DB_TEST_NAME=args.db_name, LOG_LEVEL="warning")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from customers.tests.servers import gunicorn

    print(f"database {args.db_name}: migrating ...", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keep_db, serialize=False)
    try:
        token = prepare_database(args.rows)
        redis_url = _redis_url()
        env = {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "REDIS_URL": redis_url,
            "API_THROTTLE_USER": "1000000000/day",
        }
        load_before = os.getloadavg()[0]
        with gunicorn(env=env, workers=args.workers, port=args.port) as base:
            rounds = measure(scenarios_for(base, token, deep=args.deep), token, args)
        report(args, rounds, redis_url, load=(load_before, os.getloadavg()[0]))
    finally:
        connection.close()
        if not args.keep_db:
            connection.creation.destroy_test_db(args.db_name, verbosity=0)


def prepare_database(rows: int) -> str:
    """``rows`` customers in the (test) database, loaded unless already there; a token for the bench user."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from customers.models import Customer
    from customers.services import api_token_create, user_roles_grant

    present = Customer.objects.count()
    if present != rows:
        Customer.objects.all().delete()
        seconds = load_rows(rows)
        print(f"loaded {rows:,} rows by COPY + index rebuild in {seconds:.1f} s", flush=True)
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer")  # statistics a new migration may have added
        print(f"reusing {present:,} rows", flush=True)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user_roles_grant(user=user, roles=["customers"])
    return api_token_create(user=user)


def scenarios_for(base: str, token: str, *, deep: int) -> dict[str, str]:
    """Scenario name -> URL; the deep page is reached by following ``next`` ``deep`` times."""
    import requests

    headers = {"Authorization": f"Token {token}"}
    url = f"{base}/api/customers/"
    deep_url = url
    for _ in range(deep):
        deep_url = requests.get(deep_url, headers=headers, timeout=60).json()["next"]
    one = requests.get(url, headers=headers, timeout=60).json()["results"][0]["customer_id"]
    scenarios = {
        HEALTHZ: f"{base}/healthz",
        FIRST: url,
        DEEP: deep_url,
        SEARCH: f"{url}?search=alice",
        "one customer": f"{url}{one}/",
        "filter country=Chile": f"{url}?country=chile",
        "search=rasmussen-vega (rare)": f"{url}?search=rasmussen-vega",
        "ordering=country": f"{url}?ordering=country",
        "start_date (original name)": f"{url}?start_date=2026-01-01",
        "README example": f"{url}?search=alice&country=USA&ordering=-subscription_date",
    }
    for target in scenarios.values():
        requests.get(target, headers=headers, timeout=60).raise_for_status()
    return scenarios


def measure(scenarios: dict[str, str], token: str, args: argparse.Namespace) -> list[dict[str, Result]]:
    """``args.rounds`` rounds, each measuring every scenario at 1 connection, then at N.

    Interleaved rounds put the floor and the pages close together in time, so
    load from elsewhere on the machine moves both: the ratios hold where
    absolute figures drift. Within a round the 1-connection runs follow one
    another (no N-connection run between two pages whose latencies are
    compared), in the opposite order every other round, so no scenario always
    runs first after the machine was loaded.
    """
    rounds = []
    for number in range(1, args.rounds + 1):
        names = list(scenarios) if number % 2 else list(reversed(scenarios))
        single = {name: wrk(scenarios[name], token, connections=1, seconds=args.seconds) for name in names}
        results = {}
        for name in names:
            target, seconds = scenarios[name], args.seconds
            p50_16, _p99_16, rps16 = wrk(target, token, connections=args.connections, seconds=seconds)
            results[name] = Result(name, *single[name], p50_16, rps16)
        rounds.append({name: results[name] for name in scenarios})
        print(f"  round {number}/{args.rounds} measured", flush=True)
    return rounds


def report(
    args: argparse.Namespace, rounds: list[dict[str, Result]], redis_url: str, *, load: tuple[float, float]
) -> None:
    cache = "Redis" if redis_url else "database cache"
    print(
        f"\nbench/api.py --rows {args.rows:,}: gunicorn {args.workers} sync workers, DEBUG off, "
        f"throttle counters in {cache}; wrk {args.seconds}s per run, {args.rounds} interleaved rounds "
        f"(medians); {os.cpu_count()} CPUs, 1-min load average {load[0]:.1f} before, {load[1]:.1f} after"
    )
    header = f"{'scenario':32} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} | {'p50 ms':>8} {'req/s':>8}"
    print(f"{'':32} {'--- 1 connection ---':>26} | {f'-- {args.connections} connections --':>17}")
    print(header)
    for name in rounds[0]:
        r = Result(name, *(statistics.median(getattr(one[name], f) for one in rounds) for f in _MEASURES))
        label = name.replace(" N ", f" {args.deep} ")
        print(
            f"{label:32} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {r.rps_1:8.0f} | {r.p50_16_ms:8.1f} {r.rps_16:8.0f}"
        )
    print()
    for line in ratio_lines(rounds):
        print(line)


_MEASURES = ("p50_ms", "p99_ms", "rps_1", "p50_16_ms", "rps_16")


def ratio_lines(rounds: list[dict[str, Result]]) -> list[str]:
    """One line per target: the median over rounds of the ratio measured within a round, and the target."""
    lines = []
    for numerator, denominator, measure, comparison, target in TARGETS:
        field = "p50_ms" if measure == "p50" else "rps_16"
        ratios = [getattr(one[numerator], field) / getattr(one[denominator], field) for one in rounds]
        ratio = statistics.median(ratios)
        met = ratio <= target if comparison == "<=" else ratio >= target
        label = f"{numerator} / {denominator} {measure}".replace(" N ", " ")
        each = ", ".join(f"{value:.2f}" for value in ratios)
        lines.append(
            f"{label:55} {ratio:6.2f}  (target {comparison} {target})  {'met' if met else 'MISSED'}"
            f"  [rounds: {each}]"
        )
    return lines


if __name__ == "__main__":
    main()
