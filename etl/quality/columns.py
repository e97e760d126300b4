"""Column names the quality stage shares with the reader, the transform and the load."""

from __future__ import annotations

LINE_COLUMN = "__line__"
"""1-based line of the record in the file (record index for JSON arrays); the reader's name."""
RAW_PREFIX = "_raw_"
"""``_raw_<field>``: the field's original text, kept beside a column the transform already cast."""
RAW_RECORD_COLUMN = "_raw"
"""Optional: the whole record as the file had it (a JSON object string or a struct)."""
UPSTREAM_CODES = "__codes__"
UPSTREAM_MESSAGES = "__messages__"
"""List columns of problems found before the quality stage (the transform's casts, storable
checks); the quarantined frame handed back to the pipeline uses the same names."""
