"""Exception handlers: every error leaves as RFC 9457 problem+json in the request's language.

- :class:`~ihospital.errors.AppError` raised by services and dependencies: its own problem.
- Request validation: 422 naming every invalid field (``errors: [{field, type, message}]``), the
  first one in ``detail``; a body that is not JSON at all is a 415.
- Starlette's HTTP errors (unknown address, method not allowed, ...): the matching problem.
- Anything else is caught by the request middleware (:func:`server_error_problem`); the handler
  for ``Exception`` here only logs what fails after a response has started.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ihospital.core.i18n import DEFAULT_LANGUAGE, current_language, translate
from ihospital.core.validation_messages import message_for
from ihospital.errors import (
    PROBLEM_JSON,
    AppError,
    BadRequest,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)

log = logging.getLogger("ihospital.errors")

_SOURCES = ("body", "query", "path", "header", "cookie")


class ProblemResponse(JSONResponse):
    """``application/problem+json``; field values that JSON lacks (dates, Decimal) become text."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _field_path(error: dict[str, Any]) -> str:
    """``("body", "patient", "name")`` -> ``patient.name``; unparsable JSON is ``body``."""
    parts = [str(part) for part in error.get("loc", ())]
    if error.get("type") == "json_invalid":
        return "body"
    if len(parts) > 1 and parts[0] in _SOURCES:
        parts = parts[1:]
    return ".".join(parts)


def field_errors(errors: list[dict[str, Any]], language: str) -> list[dict[str, str]]:
    """Each Pydantic error as ``{field, type, message}`` with a translated message."""
    items = []
    for error in errors:
        message, fields = message_for(error)
        items.append(
            {
                "field": _field_path(error),
                "type": str(error.get("type", "value_error")),
                "message": translate(message, language, **fields),
            }
        )
    return items


def _sent_unparsed_body(errors: list[dict[str, Any]]) -> bool:
    """FastAPI hands the raw bytes to validation when the content type was not JSON."""
    return any(
        tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes)
        for error in errors
    )


def validation_problem(
    errors: list[dict[str, Any]], language: str, instance: str | None = None
) -> dict[str, Any]:
    """A 422 problem naming every invalid field; ``detail`` names the first."""
    items = field_errors(errors, language)
    first = items[0] if items else {"field": "body", "message": ""}
    body = Unprocessable(
        "request.invalid", "{field}: {error}", field=first["field"], error=first["message"]
    ).to_problem(language, instance)
    del body["error"]  # already in ``detail`` and ``errors``
    body["errors"] = items
    return body


def server_error_problem(request_id: str, language: str) -> dict[str, Any]:
    """What the client learns of an unexpected failure: that it happened, and the request id."""
    return InternalError(
        "server.error",
        "Something went wrong on our side. Quote {request_id} when you contact us.",
        request_id=request_id,
    ).to_problem(language)


def _from_http_exception(status: int, method: str) -> AppError:
    """Starlette and FastAPI raise plain HTTP errors for routing and body parsing."""
    match status:
        case 400:
            return BadRequest("request.malformed", "The request could not be read.")
        case 401:
            return Unauthorized("auth.required", "Please sign in first.")
        case 403:
            return Forbidden("auth.forbidden", "Your role may not do this.")
        case 404:
            return NotFound("request.not_found", "There is nothing at this address.")
        case 405:
            return MethodNotAllowed(
                "request.method_not_allowed",
                "This address does not accept {method}.",
                method=method,
            )
        case 413:
            return PayloadTooLarge("request.too_large", "The request body is too large.")
        case 415:
            return UnsupportedMediaType(
                "request.unsupported_media_type", "This content type is not accepted here."
            )
        case 429:
            return TooManyRequests(
                "request.too_many", "Too many requests. Please wait and try again."
            )
        case 503:
            return ServiceUnavailable(
                "service.unavailable", "The service is busy. Please try again shortly."
            )
    return BadRequest("request.error", "The request could not be handled.")


async def _page_refusal(request: Request, error: AppError) -> Response | None:
    """For a browser asking for a page (not the JSON API), the page-shaped answer the app
    installed (``app.state.page_refusal``) instead of problem+json."""
    refuse = getattr(request.app.state, "page_refusal", None)
    if refuse is None or request.url.path.startswith("/api/"):
        return None
    asked_by_htmx = request.headers.get("hx-request") == "true"
    if "text/html" not in request.headers.get("accept", "") and not asked_by_htmx:
        return None
    return await refuse(request, error)


async def app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if (page := await _page_refusal(request, exc)) is not None:
        return page
    headers = (
        {"Retry-After": str(exc.fields["retry_after"])} if "retry_after" in exc.fields else None
    )
    return ProblemResponse(
        exc.to_problem(current_language.get(), request.url.path), exc.status, headers
    )


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [dict(error) for error in exc.errors()]
    language = current_language.get()
    if _sent_unparsed_body(errors):
        error = UnsupportedMediaType(
            "request.unsupported_media_type",
            "Send the body as JSON (Content-Type: application/json).",
        )
        return ProblemResponse(error.to_problem(language, request.url.path), error.status)
    return ProblemResponse(validation_problem(errors, language, request.url.path), 422)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error = _from_http_exception(exc.status_code, request.method)
    if (
        error.status == exc.status_code
        and (page := await _page_refusal(request, error)) is not None
    ):
        return page
    body = error.to_problem(current_language.get(), request.url.path)
    body["status"] = exc.status_code
    return ProblemResponse(body, exc.status_code, dict(exc.headers) if exc.headers else None)


async def unhandled_error_handler(request: Request, exc: Exception) -> Response:
    """Reached only when a failure escapes the request middleware (its response had started)."""
    request_id = getattr(request.state, "request_id", "")
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"request_id": request_id, "path": request.url.path},
    )
    language = getattr(request.state, "language", DEFAULT_LANGUAGE)
    return ProblemResponse(server_error_problem(request_id, language), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unhandled_error_handler)
