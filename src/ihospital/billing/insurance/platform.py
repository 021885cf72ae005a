"""The medical insurance platform (医保信息平台) that carries a settlement, and its sandbox.

The designated hospital settles with the insurance agency through the platform (DOMAIN.md,
医保结算): ``settle`` submits a settlement (the national outpatient settlement, 2207) under our
settlement number, ``reverse`` cancels it when the order is refunded (2208), ``query`` asks for
its state when an answer was lost. All three are idempotent per settlement number: submitting
the same settlement again returns the first answer; a different settlement under a number
already used is refused.

Calls that get no answer in time raise :class:`PlatformTimeout` (the outcome is unknown: query
later); a refusal raises :class:`PlatformRejected` with a reason (an English message id).

The sandbox behaves the same way, failures included:

- an insurance number ending in ``9`` is refused (insured person unknown or suspended);
- an insurance number ending in ``8`` is settled, but the answer is lost (a timeout): only a
  query finds the settlement;
- a configured ``latency_seconds`` at or above ``timeout_seconds`` makes every call time out
  before the platform sees it;
- ``fail_next`` makes the next call of one operation (in this process) time out, lose its
  answer, or be refused.

Like the real platform, the sandbox keeps its books apart from ours, in a database of its own
(:mod:`ihospital.billing.sandbox_books`; by default ``<data_dir>/insurance-sandbox.db``),
written in its own transactions: a settlement outlives our rollbacks and a restart, and the
web app and the worker see the same ones. Of a request it keeps a digest, enough to tell a
resubmission from another settlement under the same number, and not who was settled.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Literal, Protocol

from sqlalchemy import JSON, Integer, MetaData, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.billing.insurance.engine import Parts
from ihospital.billing.sandbox_books import (
    INSURANCE_BOOKS_FILE,
    SandboxBase,
    SandboxBooks,
    books_url,
)
from ihospital.config import Settings
from ihospital.db import NAMING_CONVENTION

PlatformState = Literal["settled", "reversed"]
Operation = Literal["settle", "reverse", "query"]
Failure = Literal["timeout", "lost_reply", "rejected"]

INSURED_UNKNOWN_MESSAGE = (
    "The insurance platform does not know this insured person or the insurance is suspended."
)
NUMBER_REUSED_MESSAGE = "The insurance platform already has another settlement under this number."
UNKNOWN_SETTLEMENT_MESSAGE = "The insurance platform has no settlement under this number."
PLATFORM_REFUSED_MESSAGE = "The insurance platform refused the request."


class PlatformError(Exception):
    """Base of what a platform call can raise."""


class PlatformTimeout(PlatformError):
    """No answer in time; the platform may or may not have done it."""


class PlatformRejected(PlatformError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SettlementRequest:
    """What is submitted: who, under which pool, and the parts of the claim in total and per
    line."""

    settlement_no: str
    insurance_number: str
    insurance_type: str
    region_code: str
    institution_id: int
    total: Parts
    lines: tuple[Parts, ...]


@dataclass(frozen=True)
class PlatformSettlement:
    """The platform's view of one settlement; ``reference`` is its own id (setl_id)."""

    settlement_no: str
    state: PlatformState
    reference: str
    total: Parts


class InsurancePlatform(Protocol):
    name: str

    async def settle(self, request: SettlementRequest) -> PlatformSettlement: ...

    async def reverse(self, *, settlement_no: str) -> PlatformSettlement: ...

    async def query(self, *, settlement_no: str) -> PlatformSettlement | None: ...


class _PlatformBase(SandboxBase):
    """The platform's own schema, apart from ours (created by the sandbox on first use)."""

    __abstract__ = True
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SandboxSettlement(_PlatformBase):
    """A settlement on the platform's books, under our settlement number."""

    __tablename__ = "insurance_sandbox_settlements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    settlement_no: Mapped[str] = mapped_column(String(64), unique=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(32))
    total: Mapped[dict[str, int]] = mapped_column(JSON)


def make_insurance_platform(settings: Settings) -> InsurancePlatform:
    """The insurance platform. Only the sandbox is built in; a client of the national platform
    implements :class:`InsurancePlatform` the same way."""
    return SandboxInsurancePlatform(database_url=books_url(settings, INSURANCE_BOOKS_FILE))


class SandboxInsurancePlatform:
    """An insurance platform for the demo and the tests, with books in ``database_url``
    (module doc)."""

    name = "sandbox"

    def __init__(
        self, *, database_url: str, latency_seconds: float = 0.0, timeout_seconds: float = 10.0
    ) -> None:
        self.latency_seconds = latency_seconds
        self.timeout_seconds = timeout_seconds
        self._books = SandboxBooks(database_url, _PlatformBase.metadata)
        self._failures: defaultdict[Operation, list[Failure]] = defaultdict(list)

    def fail_next(self, operation: Operation, failure: Failure) -> None:
        """Make the next call of ``operation`` fail: ``timeout`` (the platform never sees it),
        ``lost_reply`` (done, but the answer is lost) or ``rejected``."""
        self._failures[operation].append(failure)

    async def settle(self, request: SettlementRequest) -> PlatformSettlement:
        failure = await self._arrive("settle")
        digest = _digest(request)
        async with self._books.transaction() as books:
            settlement = await _settlement(books, request.settlement_no)
            if settlement is not None and settlement.request_digest != digest:
                raise PlatformRejected(NUMBER_REUSED_MESSAGE)
            if request.insurance_number.endswith("9"):
                raise PlatformRejected(INSURED_UNKNOWN_MESSAGE)
            if settlement is None:
                settlement = SandboxSettlement(
                    settlement_no=request.settlement_no,
                    request_digest=digest,
                    state="settled",
                    reference=_reference(request.settlement_no),
                    total=request.total.as_dict(),
                )
                books.add(settlement)
        if failure == "lost_reply" or request.insurance_number.endswith("8"):
            raise PlatformTimeout("the settlement was made but its answer was lost")
        return _answer(settlement)

    async def reverse(self, *, settlement_no: str) -> PlatformSettlement:
        failure = await self._arrive("reverse")
        async with self._books.transaction() as books:
            settlement = await _settlement(books, settlement_no, lock=True)
            if settlement is None:
                raise PlatformRejected(UNKNOWN_SETTLEMENT_MESSAGE)
            settlement.state = "reversed"
        if failure == "lost_reply":
            raise PlatformTimeout("the reversal was made but its answer was lost")
        return _answer(settlement)

    async def query(self, *, settlement_no: str) -> PlatformSettlement | None:
        failure = await self._arrive("query")
        if failure == "lost_reply":
            raise PlatformTimeout("the answer to the query was lost")
        async with self._books.transaction() as books:
            settlement = await _settlement(books, settlement_no)
        return None if settlement is None else _answer(settlement)

    async def _arrive(self, operation: Operation) -> Failure | None:
        """Deliver a call to the platform: time out, be refused, or come through (returning a
        failure that strikes after the platform acted)."""
        failure = self._failures[operation].pop(0) if self._failures[operation] else None
        if failure == "timeout" or self.latency_seconds >= self.timeout_seconds:
            raise PlatformTimeout(f"the insurance platform did not answer the {operation} call")
        if failure == "rejected":
            raise PlatformRejected(PLATFORM_REFUSED_MESSAGE)
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        return failure


async def _settlement(
    books: AsyncSession, settlement_no: str, *, lock: bool = False
) -> SandboxSettlement | None:
    query = select(SandboxSettlement).where(SandboxSettlement.settlement_no == settlement_no)
    return await books.scalar(query.with_for_update() if lock else query)


def _answer(settlement: SandboxSettlement) -> PlatformSettlement:
    return PlatformSettlement(
        settlement_no=settlement.settlement_no,
        state=settlement.state,  # type: ignore[arg-type]
        reference=settlement.reference,
        total=Parts(**settlement.total),
    )


def _digest(request: SettlementRequest) -> str:
    """The same for the same request, whichever process submits it."""
    canonical = json.dumps(asdict(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _reference(settlement_no: str) -> str:
    return "SBXS" + hashlib.sha256(settlement_no.encode()).hexdigest()[:20].upper()
