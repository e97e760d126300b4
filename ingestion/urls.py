"""``/api/ingestion-runs/``: runs, one run, a run's quarantine (included by ``config/urls.py``)."""

from rest_framework.routers import SimpleRouter

from ingestion.api import IngestionRunViewSet

router = SimpleRouter()
router.register("ingestion-runs", IngestionRunViewSet, basename="ingestionrun")

urlpatterns = router.urls
