"""The provincial supervision platform (监管平台) that receives the feed, over signed HTTP.

``send`` posts a batch of records to ``<url>/records`` as JSON, signed with the app secret
(HMAC-SHA256 over timestamp, nonce and body, as :mod:`ihospital.security.callback_signing`) and
naming our app id. The platform answers each record by its idempotency key: ``accepted``,
``duplicate`` (it already holds that key: an earlier answer was lost) or ``rejected`` with a
reason code. Whatever leaves the outcome unknown or the batch unread (a timeout, a network
error, a 5xx, a refused signature) raises :class:`PlatformUnavailable`, and the pusher sends
the same records again later.

``IHOSPITAL_PROVINCIAL_PLATFORM=sandbox`` (the default) talks to the sandbox receiver
(:mod:`ihospital.supervision.reporting.sandbox`) in this process through the same HTTP code;
``http`` talks to ``IHOSPITAL_PROVINCIAL_PLATFORM_URL``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from ihospital.billing.sandbox_books import PROVINCIAL_BOOKS_FILE, books_url
from ihospital.config import Settings
from ihospital.core.clock import Clock
from ihospital.security.callback_signing import CallbackSigner
from ihospital.supervision.reporting.sandbox import ProvincialSandbox

APP_ID_HEADER = "x-app-id"
SANDBOX_URL = "http://provincial-sandbox"
Outcome = Literal["accepted", "duplicate", "rejected"]


class PlatformUnavailable(Exception):
    """The platform did not take the batch (or we cannot tell): send it again later."""


@dataclass(frozen=True)
class Outgoing:
    idempotency_key: str
    sequence: int
    kind: str
    document: str  # the JSON document as stored


@dataclass(frozen=True)
class Ack:
    idempotency_key: str
    outcome: Outcome
    code: str = ""
    reason: str = ""


class ProvincialPlatform(Protocol):
    async def send(self, records: Sequence[Outgoing]) -> list[Ack]: ...


class HttpProvincialPlatform:
    """The platform's HTTP interface; ``transport`` replaces the network (the sandbox)."""

    def __init__(
        self,
        *,
        url: str,
        app_id: str,
        secret: str,
        clock: Clock,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url.rstrip("/") + "/records"
        self._app_id = app_id
        self._signer = CallbackSigner(secret.encode())
        self._clock = clock
        self._timeout = timeout_seconds
        self._transport = transport

    async def send(self, records: Sequence[Outgoing]) -> list[Ack]:
        body = json.dumps(
            {
                "app_id": self._app_id,
                "records": [
                    {
                        "idempotency_key": r.idempotency_key,
                        "sequence": r.sequence,
                        "kind": r.kind,
                        "document": json.loads(r.document),
                    }
                    for r in records
                ],
            },
            ensure_ascii=False,
        )
        headers = {
            **self._signer.sign(body, now=self._clock.now()),
            APP_ID_HEADER: self._app_id,
            "content-type": "application/json",
        }
        try:
            async with (
                asyncio.timeout(self._timeout),
                httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client,
            ):
                response = await client.post(self._url, content=body.encode(), headers=headers)
        except (TimeoutError, httpx.HTTPError) as error:
            raise PlatformUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code != 200:
            raise PlatformUnavailable(f"HTTP {response.status_code}: {response.text[:300]}")
        return _acks(response)


def _acks(response: httpx.Response) -> list[Ack]:
    try:
        results: list[dict[str, Any]] = response.json()["results"]
        return [
            Ack(
                idempotency_key=str(result["idempotency_key"]),
                outcome=result["outcome"],
                code=str(result.get("code", "")),
                reason=str(result.get("reason", "")),
            )
            for result in results
            if result.get("outcome") in ("accepted", "duplicate", "rejected")
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise PlatformUnavailable(f"unreadable answer: {error}") from error


@dataclass(frozen=True)
class Provincial:
    """The platform the settings choose, and the sandbox receiver when it is the sandbox."""

    platform: ProvincialPlatform
    sandbox: ProvincialSandbox | None


def make_provincial(settings: Settings, clock: Clock) -> Provincial:
    """The sandbox receiver by default, so a fresh machine needs nothing; ``http`` needs the
    platform's URL, or the start-up stops."""
    common = {
        "app_id": settings.provincial_app_id,
        "secret": settings.provincial_app_secret,
        "clock": clock,
        "timeout_seconds": settings.provincial_timeout_seconds,
    }
    if settings.provincial_platform == "http":
        if not settings.provincial_platform_url:
            raise ValueError("IHOSPITAL_PROVINCIAL_PLATFORM_URL is needed for the http platform")
        return Provincial(
            HttpProvincialPlatform(url=settings.provincial_platform_url, **common), None
        )
    sandbox = ProvincialSandbox(
        database_url=books_url(settings, PROVINCIAL_BOOKS_FILE),
        app_id=settings.provincial_app_id,
        secret=settings.provincial_app_secret,
        clock=clock,
    )
    transport = httpx.ASGITransport(app=sandbox.app)
    return Provincial(
        HttpProvincialPlatform(url=SANDBOX_URL, transport=transport, **common), sandbox
    )
