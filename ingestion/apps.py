from django.apps import AppConfig


class EtlConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ingestion"
    # The label of the app before the move (#17): table names (etl_ingestionrun, etl_quarantinedrecord),
    # migration history, content types and permissions (etl.view_ingestionrun) stay as they are.
    label = "etl"
    verbose_name = "ETL pipeline"

    def ready(self) -> None:
        from ingestion import checks  # noqa: F401  (registers the schema/model system check)
