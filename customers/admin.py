"""Customers in the admin, read-only: the ETL is their only writer (its rules, quarantine and audit)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from common.admin import ReadOnlyAdminMixin
from customers.models import Customer
from customers.selectors import SEARCH_MIN_LENGTH, SearchTermError, customer_search

RUN_THAT_LOADED = "admin:etl_ingestionrun_loaded"
"""The runs admin's view that finds a run by a customer's source_file and ingested_at (by name:
this app never imports the pipeline's)."""


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Staff with the view permission read customers; nobody adds, changes or deletes them here."""

    list_display = (
        "customer_id",
        "name",
        "country",
        "ingested_at",
        "loaded_by",
    )
    list_filter = ("country",)
    search_fields = ("customer_id", "first_name", "last_name", "email", "company", "city", "country")
    search_help_text = (
        f"Exact customer id, or {SEARCH_MIN_LENGTH}+ characters of a name, email, company, city or country."
    )
    readonly_fields = ("source_file", "ingested_at", "loaded_by")
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    @admin.display(description="Name", ordering="last_name")
    def name(self, obj: Customer) -> str:
        return f"{obj.first_name} {obj.last_name}"

    @admin.display(description="Last changed by")
    def loaded_by(self, obj: Customer) -> str:
        query = urlencode({"file": obj.source_file, "at": obj.ingested_at.isoformat()})
        return format_html('<a href="{}?{}">run of {}</a>', reverse(RUN_THAT_LOADED), query, obj.source_file)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        # The API's trigram-indexed search instead of one UPPER(...) LIKE per column (a full scan).
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            matches = customer_search(queryset=queryset, term=term)
        except SearchTermError:
            return queryset.filter(customer_id=term), False
        return queryset.filter(Q(customer_id=term) | Q(pk__in=matches.values("pk"))), False
