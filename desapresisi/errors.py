"""Domain errors: what services, selectors and filters raise when a rule refuses a request.

They know nothing of HTTP. The API's exception handler (desapresisi/api.py) maps each to
its status and the one error format, so a service can be called from a view, a
management command or a background job alike (HackSoft's styleguide, "errors").
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class; `status` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"


class InvalidInput(DomainError):
    """Input that breaks a rule, per field: {"field": "message" | ["message", ...]}.
    Answered like DRF's ValidationError (400, `fields` in the error body)."""

    def __init__(self, fields: dict):
        super().__init__(fields)
        self.fields = fields
