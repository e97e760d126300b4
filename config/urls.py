from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found
from django.views.generic import RedirectView

from config.health import healthz
from config.middleware import is_api

API_NOT_FOUND = "Not found: no API endpoint has this path (the list is at /api/docs/)."

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
    # GET and HEAD only, without CSRF: a write to /api/ is a 405, not the CSRF failure's HTML page.
    path("api/", csrf_exempt(require_safe(to_docs)), name="api-root"),
]


def not_found(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    """A path no URL names: JSON under ``/api/`` (what an API client parses), Django's page elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": API_NOT_FOUND}, status=404)
    return page_not_found(request, exception, **kwargs)


handler404 = not_found
