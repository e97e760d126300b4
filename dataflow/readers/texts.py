"""Names, codes and error texts every reader shares, and :class:`ReadError`.

Only :mod:`dataflow.columns` is imported (plain constants): the Spark engine ships the
CSV core (:mod:`dataflow.readers.csv_arrow`) to its executors by value, these
constants and that module with it.
"""

from dataflow.columns import LINE_COLUMN as LINE_COLUMN  # the readers' name for it, defined once

# Error texts (one line each; tests assert them). Formatted with the named fields.
EMPTY_FILE = "file is empty"
BINARY_FILE = "not a text file (binary content near byte {offset})"
UNKNOWN_ENCODING = "cannot detect the text encoding (not UTF-8, UTF-16 or a known single-byte charset)"
NO_HEADER = "no header row found"
DUPLICATE_HEADER = "column {column!r} appears twice in the header (fields {first} and {second}); rename one"
FILE_TOO_BIG = "file is {size} bytes, above INGEST_MAX_BYTES ({limit} bytes)"
CORRUPT_GZIP = "not a readable gzip file: {problem}"
DECOMPRESSED_TOO_BIG = "file expands beyond INGEST_MAX_BYTES ({limit} bytes) when decompressed; refused"
UNDECODABLE = "cannot decode the file as {encoding}: {problem}"
JSON_INVALID = "invalid JSON at line {line} column {column}: {problem}"
JSON_TRUNCATED = "JSON ends early (truncated file?) at line {line} column {column}"
JSON_NOT_RECORDS = "JSON must be an array of objects or an object holding one array of objects"
JSON_TWO_ARRAYS = "JSON object holds more than one array ({first!r} and {second!r}): which are the records?"
CSV_PARSE = "cannot parse CSV: {problem}"
CSV_RECORD_TOO_LONG = "cannot parse CSV: a record after record {records} is longer than {mib} MiB"

# Set-aside codes and messages (stored on QuarantinedRecord).
CODE_FIELD_COUNT = "row.field_count"
CODE_JSON = "row.json"
CODE_ENCODING = "row.encoding"
MSG_FIELD_COUNT = "expected {expected} fields, found {actual}"
MSG_JSON_BROKEN = "not a valid JSON object: {problem}"
MSG_JSON_NOT_OBJECT = "record is a JSON {kind}, not an object"
MSG_JSON_TOO_DEEP = "record nested too deeply to read"
MSG_ENCODING = "invalid {encoding} bytes in column {column!r}"
MSG_NOT_UNICODE = "column {column!r} is not valid Unicode (undecodable bytes or an unpaired \\u surrogate)"


class ReadError(ValueError):
    """The file cannot be read as records at all: the whole file is rejected."""
