# The planner reads the search expression's statistics from the trigram index
# (an expression index is consulted before extended statistics, so 0003's are
# not the ones used). At the default target (100 histogram bounds) a term found
# in 0.5% of the rows, a common first name, usually falls between two bounds
# and is estimated at the 0.01% floor: the planner then fetches every match
# through the trigram index and sorts them (15 ms for "alice" at 1M rows)
# instead of walking the ordering index and stopping after one page (7 ms, and
# less the more common the term). 1000 bounds tell 0.5% from 0.01%. ANALYZE
# samples 300,000 rows for it (a few seconds at 1M rows).

from django.db import migrations

SEARCH_INDEX_STATISTICS = 1000


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0005_cache_table"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"ALTER INDEX customer_search_trgm ALTER COLUMN 1 SET STATISTICS {SEARCH_INDEX_STATISTICS}",
            reverse_sql="ALTER INDEX customer_search_trgm ALTER COLUMN 1 SET STATISTICS -1",
        ),
    ]
