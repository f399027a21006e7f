"""API routes of the area tree, mounted under /api/v1/ by desapresisi/urls.py."""

api_urlpatterns: list = []
