from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.health import healthz

# A newcomer opening http://127.0.0.1:8000/ or /api/ (or the admin's "View site")
# lands on the API docs, which link the schema; the admin and /healthz are one click away.
to_docs = RedirectView.as_view(pattern_name="docs", permanent=False)

urlpatterns = [
    path("", to_docs, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("console/", include("console.urls")),
    path("api/", include("customers.urls")),
    path("api/", include("ingestion.urls")),
    path("api/", to_docs, name="api-root"),
]
