"""Transform: trim, empty → null, casts, dates, provenance; a value that does not cast keeps its text."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from dataflow.readers import LINE_COLUMN
from dataflow.schema import load_schema
from dataflow.transform import TransformConfig, frame_transform

SCHEMA = load_schema()
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CONFIG = TransformConfig(source_file="partner.csv", ingested_at=AT)


def record(**values: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "index": "1",
        "customer_id": "DD37Cf93aecA6Dc",
        "first_name": "Sheryl",
        "last_name": "Baxter",
        "company": "Rasmussen Group",
        "city": "East Leonard",
        "country": "Chile",
        "phone_1": "229.077.5154",
        "phone_2": None,
        "email": "zunigavanessa@smith.info",
        "subscription_date": "2020-08-24",
        "website": None,
    }
    return base | values


def frame(*records: dict[str, str | None]) -> pl.DataFrame:
    data = pl.DataFrame(list(records), schema=dict.fromkeys(SCHEMA.field_names, pl.String))
    return data.with_columns(pl.Series(LINE_COLUMN, range(2, 2 + len(records)), dtype=pl.Int64))


def test_strings_are_trimmed() -> None:
    out = frame_transform(frame(record(first_name="  Sheryl \t")), schema=SCHEMA, config=CONFIG)
    assert out["first_name"].to_list() == ["Sheryl"]


def test_empty_strings_become_null() -> None:
    out = frame_transform(frame(record(phone_2="   ", website="")), schema=SCHEMA, config=CONFIG)
    assert out.select("phone_2", "website").row(0) == (None, None)


def test_index_becomes_an_integer() -> None:
    out = frame_transform(frame(record(index=" 42 ")), schema=SCHEMA, config=CONFIG)
    assert out.schema["index"] == pl.Int64
    assert out["index"].to_list() == [42]


def test_iso_date_is_parsed() -> None:
    out = frame_transform(frame(record()), schema=SCHEMA, config=CONFIG)
    assert out["subscription_date"].to_list() == [date(2020, 8, 24)]


def test_extra_date_format_is_tried_after_iso() -> None:
    config = TransformConfig(source_file="p.csv", ingested_at=AT, extra_date_formats=("%d/%m/%Y",))
    out = frame_transform(frame(record(subscription_date="24/08/2020")), schema=SCHEMA, config=config)
    assert out["subscription_date"].to_list() == [date(2020, 8, 24)]


def test_unparseable_values_become_null_with_their_text_kept() -> None:
    out = frame_transform(
        frame(record(index="4x", subscription_date="2020-13-01")), schema=SCHEMA, config=CONFIG
    )
    assert out.select("index", "subscription_date").row(0) == (None, None)
    assert out.select("_raw_index", "_raw_subscription_date").row(0) == ("4x", "2020-13-01")


def test_source_file_and_ingested_at_are_added() -> None:
    out = frame_transform(frame(record()), schema=SCHEMA, config=CONFIG)
    assert out.select("source_file", "ingested_at").row(0) == ("partner.csv", AT)


def test_line_numbers_survive_the_transform() -> None:
    out = frame_transform(frame(record(), record(customer_id="B")), schema=SCHEMA, config=CONFIG)
    assert out[LINE_COLUMN].to_list() == [2, 3]
