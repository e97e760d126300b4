from django.urls import path

from customers.views import (
    CustomerViewSet,
    DocsView,
    SchemaView,
    TokenLogoutAllView,
    TokenLogoutView,
    TokenObtainView,
)

customer_list = CustomerViewSet.as_view({"get": "list"})
customer_detail = CustomerViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    path("customers/", customer_list, name="customer-list"),
    path("customers/<str:customer_id>/", customer_detail, name="customer-detail"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("auth/logout/", TokenLogoutView.as_view(), name="auth-logout"),
    path("auth/logoutall/", TokenLogoutAllView.as_view(), name="auth-logoutall"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="schema"), name="docs"),
]
