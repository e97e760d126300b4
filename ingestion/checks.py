"""A Django system check: the customers table agrees with the schema declaration.

The declaration (``dataflow/schemas/customers.yaml``) is where the column limits come
from: the quality rules quarantine a value longer than its field's
``max_length`` so the load never meets a value the table refuses. That holds
only while the model says the same; ``manage.py check`` (run by ``migrate``,
``runserver`` and the tests) fails, one line per difference, when it does not.
It belongs to the ingestion app, which loads the declared fields into that table:
``customers`` knows nothing of the pipeline.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from customers.models import PROVENANCE_FIELDS, Customer
from dataflow.schema import Schema, load_schema

FIELD_NOT_ON_MODEL = "{schema}: field {field!r} has no column on {model}"
TYPE_DIFFERS = "{schema}: {field} is declared {declared}, {model}.{field} is a {column}"
MAX_LENGTH_DIFFERS = "{schema}: {field} max_length {declared}, {model}.{field} {column}"
SCHEMA_FILE = "customers.yaml"
NULL_DIFFERS = "{schema}: {field} required: {required}, {model}.{field} null={null}"
COLUMN_NOT_DECLARED = "{schema}: {model}.{column} is not a declared field (the API would show it)"
ORDER_DIFFERS = "{schema}: {model}'s columns are not in the declared order: {columns}"

COLUMN_TYPES: dict[str, tuple[type[models.Field[Any, Any]], ...]] = {
    "string": (models.CharField, models.TextField),
    "integer": (models.IntegerField, models.BigIntegerField),
    "date": (models.DateField,),
}
"""The model fields that can hold each declared type (a DateTimeField is not a DateField here)."""


def _column_type_differs(declared: str, column: models.Field[Any, Any]) -> bool:
    if declared == "date" and isinstance(column, models.DateTimeField):
        return True
    return not isinstance(column, COLUMN_TYPES[declared])


def _columns_problems(
    schema: Schema, model: type[models.Model], *, where: str, provenance: tuple[str, ...]
) -> list[checks.Error]:
    """The model's columns (but the key and ``provenance``) are the declared fields, in their order:
    the API shows the model's columns as the declaration's fields."""
    name = model.__name__
    declared = schema.field_names
    columns = [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and not f.generated and f.name not in provenance
    ]
    problems = [
        checks.Error(
            COLUMN_NOT_DECLARED.format(schema=where, model=name, column=c), obj=model, id="customers.E005"
        )
        for c in columns
        if c not in declared
    ]
    if [c for c in columns if c in declared] != [f for f in declared if f in columns]:
        text = ORDER_DIFFERS.format(schema=where, model=name, columns=", ".join(columns))
        problems.append(checks.Error(text, obj=model, id="customers.E006"))
    return problems


def schema_model_problems(
    schema: Schema, model: type[models.Model], *, where: str, provenance: tuple[str, ...] = ()
) -> list[checks.Error]:
    """Every way ``model`` disagrees with ``schema`` (``where`` names the declaration), one error each;
    ``provenance`` names the model's columns that are not declared fields."""
    name = model.__name__
    problems = _columns_problems(schema, model, where=where, provenance=provenance)
    for spec in schema.fields:
        try:
            column = model._meta.get_field(spec.name)
        except FieldDoesNotExist:
            text = FIELD_NOT_ON_MODEL.format(schema=where, field=spec.name, model=name)
            problems.append(checks.Error(text, obj=model, id="customers.E001"))
            continue
        assert isinstance(column, models.Field)
        if _column_type_differs(spec.type, column):
            kind = type(column).__name__
            text = TYPE_DIFFERS.format(
                schema=where, field=spec.name, declared=spec.type, model=name, column=kind
            )
            problems.append(checks.Error(text, obj=model, id="customers.E002"))
        length = getattr(column, "max_length", None)
        if spec.type == "string" and spec.max_length != length:
            text = MAX_LENGTH_DIFFERS.format(
                schema=where, field=spec.name, declared=spec.max_length, model=name, column=length
            )
            problems.append(checks.Error(text, obj=model, id="customers.E003"))
        if spec.required == column.null:
            text = NULL_DIFFERS.format(
                schema=where, field=spec.name, required=spec.required, model=name, null=column.null
            )
            problems.append(checks.Error(text, obj=model, id="customers.E004"))
    return problems


@checks.register(checks.Tags.models)
def customers_agree_with_their_schema(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    return schema_model_problems(
        load_schema("customers"), Customer, where=SCHEMA_FILE, provenance=PROVENANCE_FIELDS
    )
