"""The dataflow: what one file goes through, as plain Python (no Django models).

The ingest core (context types, stages, the engine protocol and the engines),
the sources, readers, mapping, schema declaration, transform, quality rules and
load. The ``ingestion`` app orchestrates it and records the runs.
"""
