"""Pieces shared by every API endpoint: the root, the error format, pagination."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views import defaults
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import exception_handler as drf_exception_handler

from .access import role_of
from .errors import DomainError, InvalidInput

INVALID_REQUEST = gettext_noop("Permintaan tidak valid.")


def _error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    body = {"error": {"status": status_code, "code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return body


def exception_handler(exc, context):
    """One error format for every API error: {"error": {status, code, message, fields?}}."""
    if isinstance(exc, InvalidInput):
        exc = exceptions.ValidationError(exc.fields)
    elif isinstance(exc, DomainError):
        refusal = exceptions.APIException(detail=str(exc), code=exc.code)
        refusal.status_code = exc.status
        exc = refusal
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(exc, exceptions.ValidationError):
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = _(INVALID_REQUEST)
        code = "invalid"
    else:
        fields = None
        message = str(detail)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    response.data = _error_body(response.status_code, str(code), message, fields)
    if getattr(exc, "current", None):
        # A conflict says what the record is now, so the client can merge and retry.
        response.data["error"]["current"] = exc.current
    return response


def not_found(request, exception=None):
    """handler404: API paths answer in the API's error format, pages with the HTML page."""
    if request.path.startswith("/api/"):
        body = _error_body(404, "not_found", _("Tidak ditemukan."))
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500, as not_found."""
    if request.path.startswith("/api/"):
        body = _error_body(500, "server_error", _("Kesalahan server."))
        return JsonResponse(body, status=500)
    return defaults.server_error(request)


class GeoJSONRenderer(BaseRenderer):
    """Selected by `?format=geojson`. Views build GeoJSON in SQL (ST_AsGeoJSON + json_agg)
    and hand over the finished text; only error bodies are serialised here."""

    media_type = "application/geo+json"
    format = "geojson"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            return data.encode("utf-8")
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


class StableCursorPagination(CursorPagination):
    """Cursor pagination: constant cost per page however deep the client reads."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "id"

    def decode_cursor(self, request):
        """A cursor that is not one of ours is bad input naming its parameter (400), not
        a missing page (DRF answers 404, which no list documents)."""
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [_("Kursor tidak valid.")]}) from None


@extend_schema(summary="Akar API / API root", responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, version="v1", format=None):
    """Entry point of the API, listing its collections."""

    def link(name: str) -> str:
        return reverse(name, kwargs={"version": version}, request=request)

    return Response(
        {
            "regions": link("api:region-list"),
            "households": link("api:household-list"),
            "members": link("api:member-list"),
            "events": link("api:event-list"),
            "indicators": link("api:indicator-list"),
            "indicator_values": link("api:indicator-values"),
            "token": link("api:token"),
            "schema": reverse("api-schema", request=request),
            "docs": reverse("api-docs", request=request),
        }
    )


class Conflict(exceptions.APIException):
    """HTTP 409: the caller edited an outdated version; nothing was written."""

    status_code = 409
    default_detail = gettext_lazy("Data telah diubah orang lain.")
    default_code = "conflict"

    def __init__(self, detail=None, *, current: dict | None = None):
        super().__init__(detail)
        self.current = current or {}


class HasPortalRole(BasePermission):
    """Named-record endpoints: an account without a role gets a clear 403, not emptiness."""

    message = gettext_lazy("Akun ini belum diberi peran dan wilayah tugas.")

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) is not None
