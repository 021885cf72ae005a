"""Feed records, the sandbox platform and a worker run, for the reporting tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.config import Settings
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.directory.models import Institution
from ihospital.identity.models import Account
from ihospital.identity.sessions import open_session
from ihospital.outbox.service import BatchResult, drain, load_handlers
from ihospital.supervision.reporting.documents import CONSULTATION, Standardised
from ihospital.supervision.reporting.feed import FEED_STATE_ID, PROMPT_SECONDS, append_record
from ihospital.supervision.reporting.models import FeedState, ReportRecord
from ihospital.supervision.reporting.platform import Ack, Outgoing, PlatformUnavailable, Provincial
from tests.identity.builders import make_account


def consultation_body(consultation_id: int) -> dict[str, Any]:
    return {
        "consultation_id": consultation_id,
        "type": "text",
        "status": "closed",
        "patient": {"id_number_masked": "110105********0012", "sex": "female", "age": "34"},
        "practitioner": {"id": 1, "licence_number": "110000000001"},
    }


async def add_records(
    session: AsyncSession, clock: FrozenClock, institution: Institution, count: int
) -> list[ReportRecord]:
    """``count`` consultation records of the institution, each its own subject."""
    actor = Actor.system(clock)
    records = []
    for number in range(1, count + 1):
        document = Standardised(CONSULTATION, number, institution.id, consultation_body(number))
        records.append(
            await append_record(session, actor, document=document, event="consultation.closed")
        )
    await session.commit()
    return records


async def run_worker(
    factory: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    platform: Any,
    *,
    advance: timedelta = timedelta(seconds=PROMPT_SECONDS),
) -> BatchResult:
    """Move the clock on, then handle every due outbox event as the worker does."""
    load_handlers()
    clock.advance(advance)
    services = {"settings": settings, "provincial_platform": platform}
    return await drain(factory, clock, limit=1000, services=services)


async def feed(session: AsyncSession) -> list[ReportRecord]:
    query = select(ReportRecord).order_by(ReportRecord.sequence)
    return list(await session.scalars(query.execution_options(populate_existing=True)))


async def feed_state(session: AsyncSession) -> FeedState:
    return await session.get(FeedState, FEED_STATE_ID, populate_existing=True)


async def received_keys(provincial: Provincial) -> list[str]:
    assert provincial.sandbox is not None
    return [r.idempotency_key for r in await provincial.sandbox.received()]


class LostAnswers:
    """A platform whose answers never come back: the records arrive, the acks are lost."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def send(self, records: Sequence[Outgoing]) -> list[Ack]:
        await self.inner.send(records)
        raise PlatformUnavailable("ReadTimeout: the answer was lost")


async def regulator(
    session: AsyncSession, clock: FrozenClock, *, role: str = "regulator", region: str | None
) -> tuple[Account, str]:
    """A regulator of ``region`` (or a platform admin) and an API token of theirs."""
    account = await make_account(session, role=role, clock=clock)
    account.region_code = region
    await session.flush()
    issued = await open_session(session, Actor.system(clock), account=account, kind="api", hours=1)
    return account, issued.token
