from django.urls import path
from django.views.decorators.http import conditional_page

from customers.views import (
    CustomerViewSet,
    DocsView,
    SchemaView,
    TokenLogoutAllView,
    TokenLogoutView,
    TokenObtainView,
)

# ETag (a hash of the body) on every GET, and 304 Not Modified when it matches
# If-None-Match: a polling client downloads a page again only when it changed.
customer_list = conditional_page(CustomerViewSet.as_view({"get": "list"}))
customer_detail = conditional_page(CustomerViewSet.as_view({"get": "retrieve"}))

urlpatterns = [
    path("customers/", customer_list, name="customer-list"),
    path("customers/<str:customer_id>/", customer_detail, name="customer-detail"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("auth/logout/", TokenLogoutView.as_view(), name="auth-logout"),
    path("auth/logoutall/", TokenLogoutAllView.as_view(), name="auth-logoutall"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="schema"), name="docs"),
]
