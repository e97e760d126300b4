"""The system check: the customers table agrees with the schema declaration (the column limits' source)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command

from customers.models import PROVENANCE_FIELDS, Customer
from customers.serializers import CUSTOMER_FIELDS
from dataflow.schema import load_schema, parse_schema
from ingestion.checks import (
    COLUMN_NOT_DECLARED,
    FIELD_NOT_ON_MODEL,
    MAX_LENGTH_DIFFERS,
    NULL_DIFFERS,
    ORDER_DIFFERS,
    SCHEMA_FILE,
    TYPE_DIFFERS,
    customers_agree_with_their_schema,
    schema_model_problems,
)


def _declaration(**changes: dict[str, Any]) -> Any:
    """The shipped declaration with some fields' entries changed (or added)."""
    document = dict(load_schema().raw)
    fields = [dict(entry) for entry in document["fields"]]
    for name, change in changes.items():
        found = [entry for entry in fields if entry["name"] == name]
        if found:
            found[0].update(change)
        else:
            fields.append({"name": name, **change})
    return parse_schema({**document, "fields": fields}, where=SCHEMA_FILE)


def _texts(schema: Any) -> list[tuple[str | None, str]]:
    return [
        (e.id, e.msg)
        for e in schema_model_problems(schema, Customer, where=SCHEMA_FILE, provenance=PROVENANCE_FIELDS)
    ]


def test_the_shipped_declaration_and_the_model_agree() -> None:
    assert customers_agree_with_their_schema() == []
    call_command("check")


def test_a_declared_max_length_the_column_does_not_have_is_an_error() -> None:
    assert _texts(_declaration(customer_id={"max_length": 60})) == [
        (
            "customers.E003",
            MAX_LENGTH_DIFFERS.format(
                schema=SCHEMA_FILE, field="customer_id", declared=60, model="Customer", column=64
            ),
        )
    ]
    assert _texts(_declaration(customer_id={"max_length": 60}))[0][1] == (
        "customers.yaml: customer_id max_length 60, Customer.customer_id 64"
    )


def test_a_declared_field_without_a_column_is_an_error() -> None:
    assert _texts(_declaration(loyalty_tier={"type": "string", "max_length": 10})) == [
        (
            "customers.E001",
            FIELD_NOT_ON_MODEL.format(schema=SCHEMA_FILE, field="loyalty_tier", model="Customer"),
        )
    ]


def test_a_type_the_column_cannot_hold_is_an_error() -> None:
    problems = _texts(_declaration(subscription_date={"type": "integer"}))
    assert problems == [
        (
            "customers.E002",
            TYPE_DIFFERS.format(
                schema=SCHEMA_FILE,
                field="subscription_date",
                declared="integer",
                model="Customer",
                column="DateField",
            ),
        )
    ]


def test_a_required_field_on_a_nullable_column_is_an_error() -> None:
    assert _texts(_declaration(website={"required": True})) == [
        (
            "customers.E004",
            NULL_DIFFERS.format(
                schema=SCHEMA_FILE, field="website", required=True, model="Customer", null=True
            ),
        )
    ]


def _declared_fields(names: list[str]) -> Any:
    """The shipped declaration with only the fields ``names``, in that order."""
    document = dict(load_schema().raw)
    entries = {entry["name"]: entry for entry in document["fields"]}
    return parse_schema({**document, "fields": [entries[name] for name in names]}, where=SCHEMA_FILE)


def test_the_api_shows_the_declared_fields_in_order_then_where_and_when_loaded() -> None:
    assert (*load_schema().field_names, *PROVENANCE_FIELDS) == CUSTOMER_FIELDS


def test_a_column_the_declaration_does_not_name_is_an_error() -> None:
    names = [name for name in load_schema().field_names if name != "website"]

    assert _texts(_declared_fields(names)) == [
        (
            "customers.E005",
            COLUMN_NOT_DECLARED.format(schema=SCHEMA_FILE, model="Customer", column="website"),
        )
    ]


def test_columns_in_another_order_than_the_declared_fields_are_an_error() -> None:
    names = load_schema().field_names
    first, last = names.index("first_name"), names.index("last_name")
    names[first], names[last] = names[last], names[first]

    problems = _texts(_declared_fields(names))

    columns = ", ".join(name for name in Customer.field_names() if name not in PROVENANCE_FIELDS)
    assert problems == [
        ("customers.E006", ORDER_DIFFERS.format(schema=SCHEMA_FILE, model="Customer", columns=columns))
    ]
