"""Customer rows for tests: realistic values, deliberate ties, written with one bulk_create."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from customers.models import Customer

INGESTED_AT = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
FIRST_NAMES = ("Alice", "Bob", "Chloé", "Dmitri", "Eve")
LAST_NAMES = ("Smith", "Nguyen", "O'Brien", "Müller")
COUNTRIES = ("USA", "France", "Chile")
CITIES = ("Austin", "Lyon", "Santiago", "Boston")
COMPANIES = ("Acme Corp", "Globex", "Initech")

_sequence = itertools.count(1)


def customer_build(**overrides: Any) -> Customer:
    """An unsaved customer; unique ``customer_id``/``email``, every other column from small pools."""
    n = next(_sequence)
    values: dict[str, Any] = {
        "index": n % 7,
        "customer_id": f"CUST{n:06d}",
        "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
        "last_name": LAST_NAMES[n % len(LAST_NAMES)],
        "company": COMPANIES[n % len(COMPANIES)],
        "city": CITIES[n % len(CITIES)],
        "country": COUNTRIES[n % len(COUNTRIES)],
        "phone_1": f"+1-555-{n:04d}",
        "phone_2": None if n % 3 else f"+1-555-9{n:03d}",
        "email": f"person{n}@example.org",
        "subscription_date": dt.date(2021, 1, 1) + dt.timedelta(days=n % 11),
        "website": None if n % 2 else f"https://site{n}.example.org",
        "source_file": "customers-100.csv",
        "ingested_at": INGESTED_AT,
    }
    values.update(overrides)
    return Customer(**values)


def customers_create(count: int, **overrides: Any) -> list[Customer]:
    return Customer.objects.bulk_create([customer_build(**overrides) for _ in range(count)])
