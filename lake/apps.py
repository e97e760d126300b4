from django.apps import AppConfig


class LakeConfig(AppConfig):
    """The data lake: its ``lake`` command and the outbox of changes (:mod:`lake.models`)."""

    name = "lake"
    label = "lake"
    verbose_name = "Data lake"

    def ready(self) -> None:
        from lake.capture import capture_connect

        capture_connect()
