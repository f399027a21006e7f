from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from households import urls as household_urls
from programmes import urls as programme_urls
from quality import urls as quality_urls
from villages import urls as village_urls

from .api import api_root
from .auth import token_view
from .metrics import metrics_view
from .ops import health, live

api_v1 = [
    path("", api_root, name="root"),
    path("auth/token/", token_view, name="token"),
    *village_urls.api_urlpatterns,
    *household_urls.api_urlpatterns,
    *programme_urls.api_urlpatterns,
    *quality_urls.api_urlpatterns,
]

urlpatterns = [
    # The API first (no page path starts with api/): its requests are the most frequent.
    re_path(r"^api/(?P<version>v1)/", include((api_v1, "api"))),
    path("health/", health, name="health"),
    path("health/live/", live, name="health-live"),
    path("metrics", metrics_view, name="metrics"),
    *household_urls.page_urlpatterns,
    *programme_urls.page_urlpatterns,
    *quality_urls.page_urlpatterns,
    path("i18n/", include("django.conf.urls.i18n")),
    path("masuk/", auth_views.LoginView.as_view(), name="login"),
    path("keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, which the CSP allows.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "desapresisi.api.not_found"
handler500 = "desapresisi.api.server_error"
