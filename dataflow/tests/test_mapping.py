"""Column mapping: normalised names, aliases, flattened suffixes, missing and extra columns."""

from __future__ import annotations

import polars as pl
import pytest

from dataflow.mapping import MISSING_COLUMNS, MappingError, columns_map, frame_map, normalise_name
from dataflow.readers import LINE_COLUMN
from dataflow.schema import load_schema

SCHEMA = load_schema()
REQUIRED_SOURCES = [
    "Index",
    "Customer Id",
    "First Name",
    "Last Name",
    "Company",
    "City",
    "Country",
    "Phone 1",
    "Email",
    "Subscription Date",
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  Customer Id ", "customer_id"),
        ("Phone-1", "phone_1"),
        ("contact.email", "contact_email"),
        ("EMAIL", "email"),
    ],
)
def test_names_are_normalised(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


def test_header_names_map_to_fields() -> None:
    mapping = columns_map(REQUIRED_SOURCES, schema=SCHEMA)
    assert mapping.sources["customer_id"] == "Customer Id"
    assert mapping.sources["subscription_date"] == "Subscription Date"
    assert "phone_2" not in mapping.sources


def test_aliases_from_the_schema_map() -> None:
    columns = [c for c in REQUIRED_SOURCES if c != "Email"] + ["Email-Address"]
    mapping = columns_map(columns, schema=SCHEMA)
    assert mapping.sources["email"] == "Email-Address"
    assert mapping.matched_by["email"] == "alias"


def test_flattened_key_maps_by_its_last_part() -> None:
    columns = [c for c in REQUIRED_SOURCES if c != "Email"] + ["contact.email"]
    mapping = columns_map(columns, schema=SCHEMA)
    assert mapping.sources["email"] == "contact.email"
    assert mapping.matched_by["email"] == "suffix"


def test_ambiguous_flattened_keys_map_nothing() -> None:
    columns = [c for c in REQUIRED_SOURCES if c != "Email"] + ["work.email", "home.email"]
    with pytest.raises(MappingError, match="missing required columns: email"):
        columns_map(columns, schema=SCHEMA)


def test_flattened_key_does_not_override_an_exact_name() -> None:
    mapping = columns_map([*REQUIRED_SOURCES, "contact.email"], schema=SCHEMA)
    assert mapping.sources["email"] == "Email"
    assert mapping.extra == ("contact.email",)


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(MappingError) as info:
        columns_map(["Index", "Customer Id", "First Name", "Email"], schema=SCHEMA)
    assert str(info.value) == MISSING_COLUMNS.format(
        columns="last_name, company, city, country, phone_1, subscription_date"
    )


def test_two_columns_for_one_field_are_rejected() -> None:
    with pytest.raises(MappingError, match="'Email', 'mail' all map to field 'email'"):
        columns_map([*REQUIRED_SOURCES, "mail"], schema=SCHEMA)


def test_extra_columns_are_reported() -> None:
    mapping = columns_map([*REQUIRED_SOURCES, "Loyalty Tier"], schema=SCHEMA)
    assert mapping.extra == ("Loyalty Tier",)
    assert mapping.as_report()["extra_columns"] == ["Loyalty Tier"]


def test_mapped_frame_has_every_field_and_the_line() -> None:
    mapping = columns_map(REQUIRED_SOURCES, schema=SCHEMA)
    raw = pl.DataFrame({c: ["v"] for c in REQUIRED_SOURCES} | {LINE_COLUMN: [7]})
    frame = frame_map(raw, mapping=mapping, schema=SCHEMA)
    assert frame.columns == [*SCHEMA.field_names, LINE_COLUMN]
    assert frame["phone_2"].to_list() == [None]
    assert frame[LINE_COLUMN].to_list() == [7]
