"""The customer record served by the API.

Column lengths mirror the ``max_length`` declared in ``dataflow/schemas/customers.yaml``:
a longer value is a data-quality failure of that record, never a crashed load
or a silently truncated value.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Lower

from customers.expressions import SearchText

# The orderings the API offers (customers.views.ORDERING_FIELDS), each backed by an index.
KEYSET_ORDERING_FIELDS = (
    "index",
    "customer_id",
    "first_name",
    "last_name",
    "company",
    "city",
    "country",
    "subscription_date",
    "ingested_at",
)


PROVENANCE_FIELDS = ("source_file", "ingested_at")
"""Where and when each record was loaded: the columns after the declared fields."""


class Customer(models.Model):
    # Partners' `index` values collide across files, so it is data, not the key.
    id = models.BigAutoField(primary_key=True)
    index = models.BigIntegerField()
    customer_id = models.CharField(max_length=64, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    company = models.CharField(max_length=255)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=100)
    phone_1 = models.CharField(max_length=50)
    phone_2 = models.CharField(max_length=50, null=True, blank=True)
    email = models.CharField(max_length=254)
    subscription_date = models.DateField()
    website = models.CharField(max_length=255, null=True, blank=True)
    source_file = models.CharField(max_length=255)
    ingested_at = models.DateTimeField()
    # Derived, never written: PostgreSQL computes it on every INSERT, UPDATE and COPY. The
    # searched columns joined and lowercased once per write, so a search compares bytes
    # instead of lowercasing six columns per row read (customers.selectors.customer_search).
    # Not a field of the record: Customer.field_names(), the API, the lake and its change
    # log leave it out (generated_columns()).
    search_text = models.GeneratedField(
        expression=Lower(SearchText()), output_field=models.TextField(), db_persist=True
    )

    class Meta:
        ordering = ["-ingested_at", "-id"]
        indexes = [
            # Keyset pagination: one (field, id) btree per API ordering, read
            # forwards or backwards, so any page is one index seek.
            *(
                models.Index(fields=[field, "id"], name=f"cust_{field}_keyset")
                for field in KEYSET_ORDERING_FIELDS
            ),
            # `search`: LIKE '%term%' on search_text, one trigram index for rare terms.
            GinIndex(fields=["search_text"], opclasses=["gin_trgm_ops"], name="customer_search_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.first_name} {self.last_name})"

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Every column but the key and the generated ones, in order: the declared fields, then
        :data:`PROVENANCE_FIELDS`."""
        return tuple(f.name for f in cls._meta.concrete_fields if not f.primary_key and not f.generated)

    @classmethod
    def generated_columns(cls) -> tuple[str, ...]:
        """Columns PostgreSQL derives from the others (``search_text``): never loaded, never
        exported; ``to_jsonb(row) - <these>`` is the record."""
        return tuple(f.column for f in cls._meta.concrete_fields if f.generated)

    @classmethod
    def row_json_sql(cls, alias: str) -> str:
        """SQL for the row ``alias`` as JSON without :meth:`generated_columns`: what the lake's
        change log stores (``to_jsonb(c) - ARRAY['search_text']::text[]``)."""
        names = ", ".join("'{}'".format(name.replace("'", "''")) for name in cls.generated_columns())
        return f"(to_jsonb({alias}) - ARRAY[{names}]::text[])"


class ThrottleCounter(models.Model):
    """An API rate-limit counter when there is no Redis (``customers.throttles``): one row per
    client and scope, counting the current window; updated by one atomic upsert per request."""

    key = models.CharField(max_length=200, primary_key=True)
    window = models.BigIntegerField(help_text="Window number: seconds since the epoch // its duration.")
    count = models.IntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} in window {self.window}"
