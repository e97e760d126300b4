from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from customers.models import Customer
from customers.selectors import SEARCH_MIN_LENGTH, SearchTermError, customer_search


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "customer_id",
        "first_name",
        "last_name",
        "company",
        "country",
        "subscription_date",
        "ingested_at",
    )
    list_filter = ("country",)
    search_fields = ("customer_id", "first_name", "last_name", "email", "company", "city", "country")
    search_help_text = (
        f"Exact customer id, or {SEARCH_MIN_LENGTH}+ characters of a name, email, company, city or country."
    )
    readonly_fields = ("source_file", "ingested_at")
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

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
