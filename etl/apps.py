from django.apps import AppConfig


class EtlConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "etl"
    verbose_name = "ETL pipeline"

    def ready(self) -> None:
        # The lake (issue #7) follows every ingest: raw copy, processed records, curated tables.
        from etl.lake.hook import lake_hook_register

        lake_hook_register()
