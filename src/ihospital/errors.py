"""Problem details (RFC 9457) with stable codes and translated messages.

Every error a client can see is an :class:`AppError` rendered by one handler as
``application/problem+json``: ``type``, ``title``, ``status``, ``detail``, ``code`` and any fields.
Unknown exceptions are logged with the request id and answered with a bare 500 problem.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ihospital.core.i18n import translate

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://ihospital.dev/problems/"


def problem_body(
    *, code: str, status: int, title: str, detail: str, instance: str | None = None
) -> dict[str, Any]:
    """The members every problem has, already translated."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    return body


class AppError(Exception):
    """Base of every error shown to a client.

    ``code`` is stable and machine-readable (``identity.mobile_taken``); ``message`` is an English
    message id translated at render time, formatted with ``fields``; ``fields`` also go into the
    problem body (they never replace its standard members). ``code`` and ``message`` are
    positional-only, so a field may be called ``code`` too (a department code, say).
    """

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, code: str, message: str, /, **fields: Any) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.fields = fields

    def to_problem(self, language: str, instance: str | None = None) -> dict[str, Any]:
        body = problem_body(
            code=self.code,
            status=self.status,
            title=translate(self.title, language),
            detail=translate(self.message, language, **self.fields),
            instance=instance,
        )
        for key, value in self.fields.items():
            body.setdefault(key, value)
        return body


class BadRequest(AppError):
    status = 400
    title = "Bad request"


class Unauthorized(AppError):
    status = 401
    title = "Not signed in"


class Forbidden(AppError):
    status = 403
    title = "Not allowed"


class NotFound(AppError):
    status = 404
    title = "Not found"


class MethodNotAllowed(AppError):
    status = 405
    title = "Method not allowed"


class Conflict(AppError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(AppError):
    status = 413
    title = "Request too large"


class UnsupportedMediaType(AppError):
    status = 415
    title = "Unsupported content type"


class Unprocessable(AppError):
    status = 422
    title = "Invalid input"


class TooEarly(AppError):
    """Asked before the thing is available (slots not released yet); says when it will be."""

    status = 425
    title = "Not available yet"


class Locked(AppError):
    status = 423
    title = "Locked"


class TooManyRequests(AppError):
    status = 429
    title = "Too many requests"


class RuleViolation(AppError):
    """A medical or regulatory rule (DOMAIN.md R01–R20) blocks the action."""

    status = 422
    title = "Blocked by a rule"

    def __init__(self, rule_id: str, message: str, /, **fields: Any) -> None:
        super().__init__(f"rule.{rule_id}", message, rule_id=rule_id, **fields)


class InternalError(AppError):
    """What the client is told about an unexpected failure; services never raise it."""

    status = 500
    title = "Server error"


class ServiceUnavailable(AppError):
    status = 503
    title = "Service unavailable"
