"""A provincial platform receiver that behaves like the real one, for the demo and the tests.

An ASGI app (mounted at ``/sandbox/provincial`` by ``ihospital demo``; reached in-process by
the sandbox platform): ``POST /records`` takes a signed batch and answers each record;
``GET /records`` lists what it holds (keys, kinds, sequence numbers, never the documents);
``POST /control`` tells it how to behave. Like the other sandboxes it plays an outside party,
so it keeps its books apart from ours (:mod:`ihospital.billing.sandbox_books`, by default
``<data_dir>/provincial-sandbox.db``): what it received outlives our rollbacks and restarts.

- A record is kept once per idempotency key: the same key again is acknowledged as
  ``duplicate`` and not stored twice; the same key with another document is rejected
  (``key_reused``). A document without its kind's required fields is rejected
  (``missing_fields``).
- It can be down until a moment (every batch gets 503), slow (each record, once stored,
  takes ``latency_seconds`` before the next), or reject the records of one kind (or all) with
  a reason code, until told otherwise. This survives restarts, being in the books.
- A batch whose signature or app id is wrong gets 401 and nothing is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, MetaData, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ihospital.billing.sandbox_books import SandboxBase, SandboxBooks
from ihospital.core.clock import Clock
from ihospital.db import NAMING_CONVENTION
from ihospital.security.callback_signing import CallbackSigner, SignatureRefused
from ihospital.supervision.reporting.documents import KINDS

APP_ID_HEADER = "x-app-id"


class _ProvincialBase(SandboxBase):
    __abstract__ = True
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReceivedRecord(_ProvincialBase):
    """A record the platform holds, once per idempotency key."""

    __tablename__ = "sandbox_provincial_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class ReceiverControl(_ProvincialBase):
    """How the receiver behaves (one row)."""

    __tablename__ = "sandbox_provincial_control"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    down_until: Mapped[datetime | None]
    latency_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    reject_kind: Mapped[str | None] = mapped_column(String(32))
    reject_code: Mapped[str | None] = mapped_column(String(32))
    reject_reason: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Behaviour:
    down_until: datetime | None = None
    latency_seconds: float = 0.0
    reject_kind: str | None = None
    reject_code: str | None = None
    reject_reason: str | None = None


def _missing(record: dict[str, Any]) -> list[str]:
    document = record.get("document")
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        return ["document.data"]
    return [name for name in KINDS[record["kind"]] if data.get(name) is None]


class ProvincialSandbox:
    def __init__(self, *, database_url: str, app_id: str, secret: str, clock: Clock) -> None:
        if not secret:
            raise ValueError("the provincial sandbox needs IHOSPITAL_PROVINCIAL_APP_SECRET")
        self._books = SandboxBooks(database_url, _ProvincialBase.metadata)
        self._app_id = app_id
        self._signer = CallbackSigner(secret.encode())
        self._clock = clock
        self.app = Starlette(
            routes=[
                Route("/records", self._receive, methods=["POST"]),
                Route("/records", self._list, methods=["GET"]),
                Route("/control", self._control, methods=["POST"]),
            ]
        )

    # -- how it behaves ---------------------------------------------------------------------

    async def behaviour(self) -> Behaviour:
        async with self._books.transaction() as books:
            row = await books.get(ReceiverControl, 1)
            if row is None:
                return Behaviour()
            return Behaviour(
                row.down_until,
                row.latency_seconds,
                row.reject_kind,
                row.reject_code,
                row.reject_reason,
            )

    async def behave(self, behaviour: Behaviour) -> None:
        """Behave as told from now on (the default :class:`Behaviour` is a healthy platform)."""
        async with self._books.transaction() as books:
            await books.merge(ReceiverControl(id=1, **behaviour.__dict__))

    async def down_for(self, period: timedelta) -> None:
        """Answer 503 to every batch for ``period`` from now."""
        current = await self.behaviour()
        await self.behave(
            Behaviour(**{**current.__dict__, "down_until": self._clock.now() + period})
        )

    async def received(self) -> list[ReceivedRecord]:
        """What the platform holds, in the order it arrived."""
        async with self._books.transaction() as books:
            return list(await books.scalars(select(ReceivedRecord).order_by(ReceivedRecord.id)))

    # -- HTTP -------------------------------------------------------------------------------

    async def _receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        try:
            self._signer.verify(headers=request.headers, body=body, now=self._clock.now())
        except SignatureRefused as refused:
            return JSONResponse({"code": refused.reason}, status_code=401)
        if request.headers.get(APP_ID_HEADER) != self._app_id:
            return JSONResponse({"code": "unknown_app"}, status_code=401)
        behaviour = await self.behaviour()
        if behaviour.down_until is not None and self._clock.now() < behaviour.down_until:
            return JSONResponse({"code": "unavailable"}, status_code=503)
        try:
            records = json.loads(body)["records"]
            if not all(
                isinstance(r, dict)
                and r.get("kind") in KINDS
                and isinstance(r.get("sequence"), int)
                for r in records
            ):
                raise ValueError("a record of an unknown kind")
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"code": "malformed"}, status_code=400)
        results = []
        for record in records:
            results.append(await self._one(record, behaviour))
            if behaviour.latency_seconds > 0:
                await asyncio.sleep(behaviour.latency_seconds)
        return JSONResponse({"results": results})

    async def _one(self, record: dict[str, Any], behaviour: Behaviour) -> dict[str, str]:
        key = str(record.get("idempotency_key", ""))[:96]
        answer = {"idempotency_key": key}
        if behaviour.reject_code and behaviour.reject_kind in (None, record["kind"]):
            reason = behaviour.reject_reason or ""
            return {
                **answer,
                "outcome": "rejected",
                "code": behaviour.reject_code,
                "reason": reason,
            }
        if missing := _missing(record):
            reason = "missing: " + ", ".join(missing)
            return {**answer, "outcome": "rejected", "code": "missing_fields", "reason": reason}
        document = json.dumps(record["document"], sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(document.encode()).hexdigest()
        try:
            async with self._books.transaction() as books:
                held = await books.scalar(
                    select(ReceivedRecord.digest).where(ReceivedRecord.idempotency_key == key)
                )
                if held is None:
                    books.add(
                        ReceivedRecord(
                            idempotency_key=key,
                            sequence=record["sequence"],
                            kind=record["kind"],
                            digest=digest,
                            document=document,
                            received_at=self._clock.now(),
                        )
                    )
                    return {**answer, "outcome": "accepted"}
        except IntegrityError:  # the same key arrived at once by another request
            held = digest
        if held != digest:
            reason = "another document was received under this key"
            return {**answer, "outcome": "rejected", "code": "key_reused", "reason": reason}
        return {**answer, "outcome": "duplicate"}

    async def _list(self, request: Request) -> JSONResponse:
        return JSONResponse(
            [
                {
                    "idempotency_key": r.idempotency_key,
                    "sequence": r.sequence,
                    "kind": r.kind,
                    "received_at": r.received_at.isoformat(),
                }
                for r in await self.received()
            ]
        )

    async def _control(self, request: Request) -> JSONResponse:
        """``{"down_for_seconds": 7200, "latency_seconds": 3, "reject": {"kind": …, "code": …,
        "reason": …}}``; what is left out is back to normal."""
        try:
            body = await request.json()
            down = float(body.get("down_for_seconds") or 0)
            reject = body.get("reject") or {}
            behaviour = Behaviour(
                down_until=self._clock.now() + timedelta(seconds=down) if down > 0 else None,
                latency_seconds=max(float(body.get("latency_seconds") or 0), 0.0),
                reject_kind=reject.get("kind"),
                reject_code=reject.get("code"),
                reject_reason=reject.get("reason"),
            )
        except (ValueError, TypeError, AttributeError, OverflowError):
            return JSONResponse({"code": "malformed"}, status_code=400)
        await self.behave(behaviour)
        return JSONResponse({"ok": True})
