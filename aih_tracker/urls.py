from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from aih_tracker import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="patients:list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", views.health, name="health"),
    path("patients/", include("patients.urls")),
    path("patients/<int:pk>/regimen/", include("regimens.urls")),
    path("", include("monitoring.urls")),
    path("admin/", admin.site.urls),
]
