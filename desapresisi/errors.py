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


class _Refusal(DomainError):
    """A refusal with one message for the caller."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(_Refusal):
    status = 403
    code = "permission_denied"


class NotReady(_Refusal):
    """The thing exists but cannot be had yet (or any more, in this state)."""

    status = 409
    code = "not_ready"


class Gone(_Refusal):
    """It existed and was removed (an expired export file)."""

    status = 410
    code = "gone"
