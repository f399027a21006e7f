"""The OpenAPI schema's conventions: the one error format and the error answers every
operation can give (drf-spectacular's AutoSchema, extended). Kept apart from api.py: DRF
imports the schema class while loading its settings, and api.py is imported by views."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorDetail(serializers.Serializer):
    status = serializers.IntegerField(help_text="HTTP status")
    code = serializers.CharField(help_text="invalid, not_found, conflict, throttled, ...")
    message = serializers.CharField(help_text="In the caller's language (Accept-Language)")
    fields = serializers.DictField(
        required=False, help_text="Per field (or row): what is wrong with it"
    )
    current = serializers.DictField(
        required=False, help_text="409: the record as it is now (its current versi)"
    )


class Error(serializers.Serializer):
    error = ErrorDetail()


# What every operation of a kind can answer besides its documented success: bad input (an
# operation with parameters or a body), no or wrong credentials and a role that may not
# (an operation that is not public), an object outside the caller's areas (one with a path
# parameter), and the rate limit (all).
_ERROR_DESCRIPTIONS = {
    "400": "Permintaan tidak valid / invalid request: the fields are named",
    "401": "Belum masuk / not authenticated",
    "403": "Tidak diizinkan / not allowed for this role",
    "404": "Tidak ditemukan (atau di luar wilayah) / not found or outside the caller's areas",
    "429": "Terlalu banyak permintaan / rate limited",
}


class PortalAutoSchema(AutoSchema):
    """drf-spectacular's schema with the error answers every operation can give, each in the
    one error format (`Error`), so that clients (and schemathesis' status-code check) know
    every status an operation may return."""

    def _error_codes(self) -> list[str]:
        codes = ["429"]
        public = all(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        if not public:
            codes += ["401", "403"]
        has_path_parameter = "{" in self.path
        if has_path_parameter:
            codes.append("404")
        if has_path_parameter or self.method in ("POST", "PUT", "PATCH") or self._has_query():
            codes.append("400")
        return codes

    def _has_query(self) -> bool:
        return any(parameter.get("in") == "query" for parameter in self._get_parameters())

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            responses.setdefault(code, {"description": _ERROR_DESCRIPTIONS[code]})
        for code, response in responses.items():
            if int(code) >= 400 and "content" not in response:
                described = self._get_response_for_code(
                    Error, code, ["application/json"], direction
                )
                described["description"] = response.get("description") or described.get(
                    "description", ""
                )
                responses[code] = described
        return dict(sorted(responses.items()))
