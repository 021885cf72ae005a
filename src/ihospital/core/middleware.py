"""Per-request plumbing as plain ASGI: request id, language, body-size limit, CSRF cookie,
unexpected failures, access log and metrics. Pure ASGI so streamed bodies are counted as they
arrive. A route that takes large bodies (uploads) gets its own limit and refusal
(:class:`BodyLimit`, by exact path)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ihospital.core.context import request_id_var
from ihospital.core.i18n import current_language, normalise_language, pick_language
from ihospital.core.problems import ProblemResponse, server_error_problem
from ihospital.errors import AppError, PayloadTooLarge
from ihospital.security.csrf import CSRF_COOKIE, is_valid_csrf_token, new_csrf_token

log = logging.getLogger("ihospital.access")
error_log = logging.getLogger("ihospital.errors")
LANGUAGE_COOKIE = "ih_lang"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class BodyLimit:
    """The body limit of one path and the error that refuses a larger body."""

    max_bytes: int
    error: AppError


class _BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit."""


@dataclass
class _Exchange:
    """One HTTP request as the middleware sees it."""

    request_id: str
    language: str
    declared_length: str
    new_csrf: str | None
    status: int = 500  # until the app answers: an unanswered request counts as a failure
    started: bool = False
    received: int = 0
    too_large: bool = False


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Any,
        metrics: Any,
        body_limits: Mapping[str | re.Pattern[str], BodyLimit] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        limits = dict(body_limits or {})
        self.body_limits = {path: limit for path, limit in limits.items() if isinstance(path, str)}
        # paths with an id in them (a page form that takes a file): a pattern of the whole path
        self.body_patterns = [
            (path, limit) for path, limit in limits.items() if isinstance(path, re.Pattern)
        ]

    def _special_limit(self, path: str) -> BodyLimit | None:
        if (limit := self.body_limits.get(path)) is not None:
            return limit
        return next((limit for rx, limit in self.body_patterns if rx.fullmatch(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except CookieError:  # a malformed Cookie header is ignored, not fatal
            cookies = SimpleCookie()
        incoming_id = headers.get("x-request-id", "")
        request_id = incoming_id if _REQUEST_ID.match(incoming_id) else uuid.uuid4().hex
        language = normalise_language(
            cookies[LANGUAGE_COOKIE].value if LANGUAGE_COOKIE in cookies else None
        ) or pick_language(headers.get("accept-language"))
        csrf = cookies[CSRF_COOKIE].value if CSRF_COOKIE in cookies else None
        new_csrf = None
        if not is_valid_csrf_token(self.settings.secret_key, csrf):
            csrf = new_csrf = new_csrf_token(self.settings.secret_key)

        state = scope.setdefault("state", {})
        state.update(request_id=request_id, language=language, csrf_token=csrf)
        request_id_token = request_id_var.set(request_id)
        language_token = current_language.set(language)
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
            else:
                exchange = _Exchange(
                    request_id, language, headers.get("content-length", ""), new_csrf
                )
                await self._http(scope, receive, send, exchange)
        finally:
            request_id_var.reset(request_id_token)
            current_language.reset(language_token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, exchange: _Exchange) -> None:
        started = time.perf_counter()
        try:
            await self._serve(scope, receive, send, exchange)
        finally:
            elapsed = time.perf_counter() - started
            route_name = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route_name, str(exchange.status)).inc()
            self.metrics.latency.labels(scope["method"], route_name).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": exchange.status,
                    "ms": round(elapsed * 1000, 1),
                },
            )

    async def _serve(self, scope: Scope, receive: Receive, send: Send, exchange: _Exchange) -> None:
        """Run the app; answer 413 for a body over the limit and 500 for an unexpected failure.

        The limit is checked against Content-Length before the app runs and against the bytes as
        they arrive (a chunked body has no Content-Length). Once a streamed body passes it, the
        app's own answer to the cut-off body is dropped and the 413 is sent instead.
        """
        special = self._special_limit(scope["path"])
        limit = special.max_bytes if special else self.settings.max_body_bytes
        declared = exchange.declared_length
        exchange.too_large = declared.isdigit() and int(declared) > limit

        async def send_to_client(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.started = True
                extra = [(b"x-request-id", exchange.request_id.encode())]
                if exchange.new_csrf:
                    secure = "; Secure" if self.settings.cookie_secure else ""
                    cookie = f"{CSRF_COOKIE}={exchange.new_csrf}; Path=/; HttpOnly; SameSite=Lax"
                    extra.append((b"set-cookie", (cookie + secure).encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        async def send_from_app(message: Message) -> None:
            if not (exchange.too_large and not exchange.started):
                await send_to_client(message)

        async def receive_within_limit() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.received += len(message.get("body", b""))
                if exchange.received > limit:
                    exchange.too_large = True
                    raise _BodyTooLarge
            return message

        try:
            if not exchange.too_large:
                await self.app(scope, receive_within_limit, send_from_app)
        except Exception as exc:
            if exchange.started:
                raise  # too late for a problem; the server aborts the response
            if not exchange.too_large:
                error_log.error(
                    "unhandled error",
                    exc_info=exc,
                    extra={"request_id": exchange.request_id, "path": scope["path"]},
                )
                body = server_error_problem(exchange.request_id, exchange.language)
                await ProblemResponse(body, 500)(scope, receive, send_to_client)
                return
        if exchange.too_large and not exchange.started:
            error = (
                special.error
                if special
                else PayloadTooLarge(
                    "request.too_large",
                    "The request body is larger than {limit} bytes.",
                    limit=limit,
                )
            )
            body = error.to_problem(exchange.language, scope["path"])
            await ProblemResponse(body, error.status)(scope, receive, send_to_client)
