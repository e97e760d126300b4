"""The Spark engine (issue #8): the same mapping, transforms and rules as Polars, run by PySpark.

Importing this package is cheap; PySpark is imported when a session is made.
"""
