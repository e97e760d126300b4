from django.apps import AppConfig


class LakeConfig(AppConfig):
    """The data lake: no models; an app for its ``lake`` management command."""

    name = "lake"
    label = "lake"
    verbose_name = "Data lake"
