"""Errors of the lake stage; their texts are constants the tests assert."""

from __future__ import annotations


class LakeError(Exception):
    """The lake cannot do what was asked (bad input, bad state); one line for people."""


ERR_RAW_CHECKSUM = "{path}: sha256 is {actual}, expected {expected} (file changed after fetch?)"
ERR_RAW_MISSING = "{path}: no such file to keep in the raw zone"
ERR_RAW_CONFLICT = "raw/{sha256}: stored object has size {stored}, the file has {size}"
ERR_NO_SUCH_TABLE = "no such lake table: {name} (tables: {tables})"
ERR_NO_SNAPSHOT = "{table}: no snapshot at or before {when}"
ERR_UNKNOWN_SNAPSHOT = "no lake table has snapshot {snapshot_id}"
ERR_BAD_AS_OF = "--as-of {value!r}: expected a snapshot id or an ISO timestamp"
ERR_NO_TABLES_IN_QUERY = "the query names no lake table (use curated.<table>; tables: {tables})"
ERR_QUERY = "query failed: {error}"
