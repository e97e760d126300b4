from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from customers.views import CustomerViewSet, TokenLogoutAllView, TokenLogoutView, TokenObtainView

customer_list = CustomerViewSet.as_view({"get": "list"})
customer_detail = CustomerViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    path("customers/", customer_list, name="customer-list"),
    path("customers/<str:customer_id>/", customer_detail, name="customer-detail"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("auth/logout/", TokenLogoutView.as_view(), name="auth-logout"),
    path("auth/logoutall/", TokenLogoutAllView.as_view(), name="auth-logoutall"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
