"""Refusing a NUL character in any query parameter or form field, for the whole site.

PostgreSQL cannot store U+0000 in text or jsonb: a NUL that reached a filter, the audit
log or a history row made the database refuse the statement and the caller got a 500
(an export's audit entry copies the query parameters into jsonb). No value with a NUL is
meaningful here, so it is refused once, before any view, with the API's error format
naming the parameter.

Query strings and urlencoded bodies are checked as the request comes in, multipart form
fields just before the view, when the body is a form's size (DATA_UPLOAD_MAX_MEMORY_SIZE
at most: DRF then reads the fields Django has parsed). A larger multipart body is an
upload: it is left to its view, which checks its size before reading it and whose DRF
serializer fields refuse NUL themselves (ProhibitNullCharactersValidator), with the same
400 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.translation import gettext as _

from .api import INVALID_REQUEST, _error_body

NUL = "\x00"
_FORM = "application/x-www-form-urlencoded"


def _nul_fields(data: QueryDict) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for key, values in data.lists():
        if NUL in key or any(NUL in value for value in values):
            # The name is echoed back, so it must not carry the NUL itself.
            fields[key.replace(NUL, "\\u0000")] = [
                _("Karakter NUL (\\u0000) tidak diizinkan dalam parameter ini.")
            ]
    return fields


def _refused(fields: dict[str, list[str]]) -> JsonResponse:
    body = _error_body(400, "invalid", _(INVALID_REQUEST), fields)
    return JsonResponse(body, status=400)


class RejectNulMiddleware:
    """Answer 400 to a NUL in a query parameter or a form field, naming the parameter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = _nul_fields(request.GET)
        if request.method == "POST" and request.content_type == _FORM:
            fields.update(_nul_fields(request.POST))
        if fields:
            return _refused(fields)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.method != "POST":
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if hasattr(request, "_post") or length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            fields = _nul_fields(request.POST)
            if fields:
                return _refused(fields)
        return None
