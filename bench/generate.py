"""A seeded synthetic customers file shaped like customers-100.csv, generated vectorised (Polars).

Shared by the benchmarks (``bench/ingest.py``, ``bench/engines.py``): the same
seed gives the same file, so runs compare.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FIRST = [
    "Sheryl",
    "Preston",
    "Roy",
    "Linda",
    "Joanna",
    "Aimee",
    "Darren",
    "Brett",
    "Sheryl",
    "Michelle",
    "Karen",
    "Marco",
    "Shannon",
    "Ruben",
    "Franklin",
    "Audrey",
    "Dennis",
    "Carmen",
    "Lee",
    "Kristina",
]
LAST = [
    "Baxter",
    "Lozano",
    "Berry",
    "Olsen",
    "Bender",
    "Mcmillan",
    "Hines",
    "Sanchez",
    "Warner",
    "Ortega",
    "Huber",
    "Roberts",
    "Hooper",
    "Farmer",
    "Pruitt",
    "Fisher",
    "Ayers",
    "Lyons",
    "Booth",
    "Oneal",
]
CITIES = [
    "East Leonard",
    "East Jimmychester",
    "Isabelborough",
    "Bensonview",
    "West Priscilla",
    "Kellymouth",
    "North Tara",
    "Port Joshua",
    "New Ronald",
    "South Monica",
    "Lake Tiffany",
    "Wrightmouth",
]
COUNTRIES = [
    "Chile",
    "Djibouti",
    "Antigua and Barbuda",
    "Dominican Republic",
    "Slovakia",
    "Bosnia",
    "Pakistan",
    "Norway",
    "Malawi",
    "Sri Lanka",
    "Peru",
    "Tonga",
    "France",
    "Brazil",
    "Kenya",
    "Canada",
]
SUFFIXES = ["Group", "LLC", "Ltd", "and Sons", "Inc", "PLC"]
COLUMNS = [
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


def _rand(salt: int, seed: int, modulo: int) -> pl.Expr:
    """A seeded pseudo-random integer in ``[0, modulo)`` per row (a hash of the row number)."""
    return (pl.col("i").hash(seed=seed * 1000 + salt) % modulo).cast(pl.Int64)


def _pick(words: list[str], salt: int, seed: int) -> pl.Expr:
    return _rand(salt, seed, len(words)).replace_strict(dict(enumerate(words)), return_dtype=pl.String)


def generate(path: Path, *, rows: int, seed: int, start: int = 0) -> None:
    """A customers-100.csv-shaped file of ``rows`` distinct customers, deterministic for ``seed``.

    Rows ``start + 1`` to ``start + rows`` of the sequence: files of consecutive ranges hold distinct
    customers (a table can be grown by appending the next range).
    """
    base = pl.DataFrame({"i": pl.int_range(start + 1, start + rows + 1, eager=True)}).with_columns(
        _pick(FIRST, 1, seed).alias("first"),
        _pick(LAST, 2, seed).alias("last"),
        _pick(LAST, 3, seed).alias("last2"),
        _pick(SUFFIXES, 4, seed).alias("suffix"),
        _pick(CITIES, 5, seed).alias("city"),
        _pick(COUNTRIES, 6, seed).alias("country"),
        (_rand(7, seed, 9 * 10**9) + 10**9).alias("p1"),
        (_rand(8, seed, 9 * 10**9) + 10**9).alias("p2"),
        _rand(9, seed, 3 * 365).alias("days"),
        _rand(10, seed, 16**5).alias("salt"),
    )
    customer_id = pl.format(
        "{}{}", pl.col("salt").cast(pl.String).str.zfill(7), pl.col("i").cast(pl.String).str.zfill(8)
    )
    email = pl.format(
        "{}.{}{}@example.com",
        pl.col("first").str.to_lowercase(),
        pl.col("last").str.to_lowercase(),
        pl.col("i"),
    )
    phone_2 = pl.format("{}x{}", pl.col("p2"), pl.col("i") % 1000)
    out = base.select(
        pl.col("i").alias("Index"),
        customer_id.alias("Customer Id"),
        pl.col("first").alias("First Name"),
        pl.col("last").alias("Last Name"),
        pl.format("{}-{} {}", pl.col("last"), pl.col("last2"), pl.col("suffix")).alias("Company"),
        pl.col("city").alias("City"),
        pl.col("country").alias("Country"),
        pl.format("+1-{}", pl.col("p1")).alias("Phone 1"),
        pl.when(pl.col("i") % 7 == 0).then(None).otherwise(phone_2).alias("Phone 2"),
        email.alias("Email"),
        (pl.date(2020, 1, 1) + pl.duration(days=pl.col("days"))).alias("Subscription Date"),
        pl.format("https://www.{}{}.com/", pl.col("last").str.to_lowercase(), pl.col("i") % 5000).alias(
            "Website"
        ),
    )
    out.write_csv(path)


def modify(source: Path, dest: Path, *, share_percent: int, seed: int) -> int:
    """Copy ``source`` with ``share_percent``% of the rows changed (their city); returns how many."""
    frame = pl.read_csv(source, infer_schema=False).with_columns(pl.col("Index").cast(pl.Int64).alias("i"))
    changed = _rand(99, seed, 100) < share_percent
    out = frame.with_columns(
        pl.when(changed)
        .then(pl.format("{} Heights", pl.col("City")))
        .otherwise(pl.col("City"))
        .alias("City"),
        changed.alias("_changed"),
    )
    out.drop("i", "_changed").write_csv(dest)
    return int(out["_changed"].sum())
