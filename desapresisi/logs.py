"""Structured logs with a request id, and no personal data.

Every request gets an id (the proxy's X-Request-ID when it sent a sane one, else a new
one), returned in the X-Request-ID header and attached to every log record written while
the request runs, so one user's complaint ("kode permintaan ...") leads to every line of
that request. With LOG_FORMAT=json (the production default) each record is one JSON
object per line, which journald and any log shipper read as is.

Personal data never reaches a log: the filter masks anything shaped like a NIK or KK
number (16 digits) in the message and its arguments before any handler sees it, as a net
under the rule that code logs ids and counts, never names or numbers.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_IDENTITY_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get("X-Request-ID", "")
        request_id = sent if _SANE_ID.fullmatch(sent) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


def _mask(text: str) -> str:
    return _IDENTITY_NUMBER.sub(r"\1******\2", text)


class PersonalDataFilter(logging.Filter):
    """Adds `request_id` to the record and masks 16-digit numbers in what it will print."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        message = record.getMessage()
        masked = _mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = _mask(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        return json.dumps(entry, ensure_ascii=False)
