"""The customer record served by the API.

Column lengths mirror the ``max_length`` declared in ``etl/schemas/customers.yaml``:
a longer value is a data-quality failure of that record, never a crashed load
or a silently truncated value.
"""

from __future__ import annotations

from django.db import models


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

    class Meta:
        ordering = ["-ingested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.first_name} {self.last_name})"
