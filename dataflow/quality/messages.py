"""Every human text the quality stage writes, as constants the tests assert.

A failure message reads ``<code>: "<value>" <text>``, e.g.
``email.pattern: "not-an-email" is not an email address``; a missing value
reads ``<code>: missing value``. This is the one catalogue of record failures:
the transform casts and words nothing.
"""

from __future__ import annotations

# --- failure texts (the part after the quoted value) ---------------------------
MISSING = "missing value"
NOT_INTEGER = "is not an integer"
NOT_DATE = "is not a date in the format {formats}"
NOT_EMAIL = "is not an email address"
NOT_URL = "is not a URL"
NOT_PHONE = "is not a phone number"
NO_MATCH = "does not match {pattern}"
BELOW_MIN = "is less than {min}"
ABOVE_MAX = "is greater than {max}"
BEFORE_MIN = "is before {min}"
AFTER_MAX = "is after {max}"
TOO_LONG = "is {length} characters long, more than {max}"
TOO_SHORT = "is {length} characters long, fewer than {min}"
NOT_ALLOWED = "is not one of: {allowed}"
NOT_UNIQUE = "appears more than once in the file"
NUL_BYTE = "contains a NUL byte, which PostgreSQL text cannot store"
"""After the field's name alone (``company: contains a NUL byte, ...``): the value cannot be quoted."""

VALUE_PREVIEW_CHARS = 60
"""Longer values are cut to this many characters (plus an ellipsis) in messages."""

# --- rule file errors: "<file>: field 'x' rule N: <problem>" ---------------------
RULE_NOT_MAPPING = "each rule must be a mapping with one rule kind, e.g. {{pattern: '^[0-9]+$'}}"
RULE_UNKNOWN_KIND = "unknown rule {kind!r} (one of {kinds})"
RULE_NO_KIND = "no rule kind in {keys} (one of {kinds})"
RULE_TWO_KINDS = "one rule kind per entry, found {kinds}"
RULE_UNKNOWN_OPTION = "unknown option {option!r} for rule {kind!r}"
RULE_BAD_REGEX = "invalid regular expression {pattern!r}: {error}"
RULE_BAD_RANGE_BOUND = "range {bound} {value!r} is not {expected}"
RULE_RANGE_EMPTY = "range needs min and/or max"
RULE_RANGE_INVERTED = "range min {min} is greater than max {max}"
RULE_RANGE_TYPE = "range only applies to integer and date fields, not {type}"
RULE_BAD_LENGTH = "{kind} must be a positive integer, not {value!r}"
RULE_LENGTH_OVER_COLUMN = "max_length {value} exceeds the field's column max_length {column}"
RULE_BAD_ALLOWED = "allowed must be a non-empty list of values"
RULE_BAD_FLAG = "{kind} must be true or false, not {value!r}"
RULE_BAD_MESSAGE = "message must be a non-empty string"
RULE_BAD_DATE_FORMAT = "date format {format!r} uses {directive}; supported: {supported}"
RULE_DATE_FORMAT_PARTS = "date format {format!r} needs exactly one year (%Y or %y), one %m and one %d"
QUALITY_NOT_MAPPING = "'quality' must be a mapping with 'thresholds' and/or 'outliers'"
QUALITY_UNKNOWN_KEY = "unknown key {key!r} in {section} (one of {allowed})"
THRESHOLD_BAD = "{name} must be a percentage between 0 and 100, not {value!r}"
THRESHOLD_ORDER = "warn_above ({warn}) must not be greater than reject_above ({reject})"
OUTLIER_NOT_MAPPING = "each outlier check must be a mapping with a 'field'"
OUTLIER_UNKNOWN_FIELD = "outlier check {index}: unknown field {field!r}"
OUTLIER_NO_KIND = "outlier check {index} on {field!r}: needs one of {kinds}"
OUTLIER_BAD_VALUE = "outlier check {index} on {field!r}: {key} must be {expected}, not {value!r}"
OUTLIER_KIND_TYPE = "outlier check {index} on {field!r}: {kind} needs {expected} field, not {type}"

# --- run outcome texts (IngestionRun.warnings / error_message) -------------------
WARN_INVALID_SHARE = (
    "{invalid} of {total} records ({share:.2f}%) failed the quality rules, above warn_above {warn:g}%"
)
REJECT_INVALID_SHARE = (
    "{invalid} of {total} records ({share:.2f}%) failed the quality rules, above reject_above {reject:g}%"
)
WARN_OUTLIER_SHARE = (
    "{flagged} of {total} records ({share:.2f}%) flagged as outliers, above outliers warn_above {warn:g}%"
)
