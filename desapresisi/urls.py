from django.contrib import admin
from django.urls import include, path

from households import views as household_views

urlpatterns = [
    path("", household_views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
