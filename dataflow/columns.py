"""Column names the ingest core's modules share (the reader's, the transform's, the quality stage's).

Plain constants, no import: the reader's CSV core runs on Spark executors and ships
this module with it.
"""

from __future__ import annotations

LINE_COLUMN = "__line__"
"""1-based line of the record in the file (record index for JSON arrays); the reader's name."""
RAW_PREFIX = "_raw_"
"""``_raw_<field>``: a typed field's trimmed text before the cast (for the quality rules' messages)."""
RAW_RECORD_COLUMN = "_raw"
"""Optional: the whole record as the file had it (a JSON object string or a struct)."""
REPEATED_PREFIX = "_q_repeated_"
"""``_q_repeated_<field>``: whether the field's value occurs more than once in the whole file, for a
``unique`` rule on a field other than the key (:mod:`dataflow.quality.repeats`); the quality stage
drops it with its other ``_q_`` columns."""
CODES_COLUMN = "__codes__"
MESSAGES_COLUMN = "__messages__"
"""List columns of a quarantined record's rule codes and messages (the quality stage → the load)."""
