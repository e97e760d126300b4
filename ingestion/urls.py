"""``/api/ingestion-runs/``: runs, one run, a run's quarantine; ``/api/ingestions/``: upload a file
(included by ``config/urls.py``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from ingestion.api import IngestionRunViewSet
from ingestion.upload_api import IngestionUploadView

router = SimpleRouter()
router.register("ingestion-runs", IngestionRunViewSet, basename="ingestionrun")

urlpatterns = [
    path("ingestions/", IngestionUploadView.as_view(), name="ingestion-upload"),
    *router.urls,
]
