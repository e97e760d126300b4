# Statistics on the search expression, so the planner can tell a common term
# (walk the ordering index, stop after one page) from a rare one (trigram index).
# The expression is the one customers.expressions.SearchText builds and the
# customer_search_trgm index stores; a test checks they stay identical.

from django.db import migrations

SEARCH_TEXT = (
    "((first_name)::text || E'\\x1f' || (last_name)::text || E'\\x1f' || (email)::text"
    " || E'\\x1f' || (company)::text || E'\\x1f' || (city)::text || E'\\x1f' || (country)::text)"
)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0002_keyset_and_search_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE STATISTICS customer_search_text_stats ON ({SEARCH_TEXT}) FROM customers_customer",
            reverse_sql="DROP STATISTICS IF EXISTS customer_search_text_stats",
        ),
    ]
