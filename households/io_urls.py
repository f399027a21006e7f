"""Routes of census imports and report exports: `api_urlpatterns` are mounted under
/api/v1/ (households/urls.py), `page_urlpatterns` at the site root (desapresisi/urls.py)."""

api_urlpatterns: list = []
page_urlpatterns: list = []
