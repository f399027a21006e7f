"""API routes of households, members, indicators and tiles, mounted under /api/v1/."""

api_urlpatterns: list = []
