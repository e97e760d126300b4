from django.contrib import admin

from customers.models import Customer


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
    search_fields = ("customer_id", "first_name", "last_name", "email", "company")
    readonly_fields = ("source_file", "ingested_at")
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page
