"""Models of the pipeline: ingestion runs (audit log) and quarantined records."""
