"""Routes of the portal's pages (dashboard, village pages)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("desa/<str:code>/", views.village, name="village"),
]
