"""Routes of the programmes app: `api_urlpatterns` under /api/v1/, `page_urlpatterns` at
the site root (desapresisi/urls.py)."""

api_urlpatterns: list = []
page_urlpatterns: list = []
