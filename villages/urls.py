"""API routes of the area tree, mounted under /api/v1/ by desapresisi/urls.py."""

from django.urls import path

from . import api

api_urlpatterns: list = [
    path("regions/", api.region_list, name="region-list"),
    path("regions/<str:code>/", api.region_retrieve, name="region-detail"),
]
