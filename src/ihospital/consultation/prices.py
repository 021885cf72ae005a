"""Doctors' price lists: a fee per consultation type at each institution where the doctor gives
online services (R05). A doctor sets their own; the institution's admins may set them for the
doctors practising there. Every change is audited; an unset type is not offered."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.models import TYPES, ConsultationPrice
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution, own_practitioner
from ihospital.directory.eligibility import online_service_eligibility, require_online_service
from ihospital.errors import Unprocessable

MAX_FEE_FEN = 1_000_000  # ¥10,000
TYPE_MESSAGE = "Choose one of: text, voice, video."
FEE_MESSAGE = "Enter a fee from 0 to {limit} fen."


def check_type(consultation_type: str) -> None:
    if consultation_type not in TYPES:
        raise Unprocessable("consultation.type_unknown", TYPE_MESSAGE, field="consultation_type")


async def set_price(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    consultation_type: str,
    fee_fen: int,
    practitioner_id: int | None = None,
) -> ConsultationPrice:
    """Set a doctor's fee (0 allowed) for one type at one institution: the actor's own
    (``practitioner_id`` None) or, by an admin of that institution, a doctor's practising there.
    The doctor must be allowed to serve online there (R05)."""
    check_type(consultation_type)
    if isinstance(fee_fen, bool) or not 0 <= fee_fen <= MAX_FEE_FEN:
        raise Unprocessable(
            "consultation.fee_invalid", FEE_MESSAGE, field="fee_fen", limit=MAX_FEE_FEN
        )
    if practitioner_id is None:
        practitioner_id = (await own_practitioner(session, actor)).id
    else:
        await managed_institution(session, actor, institution_id)
    await require_online_service(
        session, actor, practitioner_id=practitioner_id, institution_id=institution_id
    )
    for attempt in (1, 2):
        price = await _price_row(session, practitioner_id, institution_id, consultation_type)
        previous = None if price is None else price.fee_fen
        if price is None:
            price = ConsultationPrice(
                practitioner_id=practitioner_id,
                institution_id=institution_id,
                consultation_type=consultation_type,
            )
        price.fee_fen = fee_fen
        price.updated_by_account_id = actor.account_id
        price.updated_at = actor.clock.now()
        try:
            async with session.begin_nested():
                session.add(price)
                await session.flush()
            break
        except IntegrityError:
            # another request set this price first: change the row it wrote
            if attempt == 2:
                raise
    await record(
        session,
        actor,
        action="consultation.price.set",
        subject_type="practitioner",
        subject_id=practitioner_id,
        details={
            "institution_id": institution_id,
            "consultation_type": consultation_type,
            "fee_fen": fee_fen,
            "previous_fee_fen": previous,
        },
    )
    return price


async def list_prices(
    session: AsyncSession,
    actor: Actor,
    *,
    practitioner_id: int | None = None,
    institution_id: int | None = None,
) -> Sequence[ConsultationPrice]:
    """The actor's own prices (``practitioner_id`` None), or, for an admin of
    ``institution_id``, a doctor's prices there."""
    if practitioner_id is None:
        practitioner_id = (await own_practitioner(session, actor)).id
    else:
        await managed_institution(session, actor, institution_id)
    query = select(ConsultationPrice).where(ConsultationPrice.practitioner_id == practitioner_id)
    if institution_id is not None:
        query = query.where(ConsultationPrice.institution_id == institution_id)
    return (
        await session.scalars(
            query.order_by(ConsultationPrice.institution_id, ConsultationPrice.consultation_type)
        )
    ).all()


async def offered_prices(
    session: AsyncSession, actor: Actor, *, practitioner_id: int
) -> list[ConsultationPrice]:
    """What a doctor offers patients now: the prices at institutions where the doctor may serve
    online today (R05)."""
    prices = await session.scalars(
        select(ConsultationPrice)
        .where(ConsultationPrice.practitioner_id == practitioner_id)
        .order_by(ConsultationPrice.institution_id, ConsultationPrice.consultation_type)
    )
    offered: list[ConsultationPrice] = []
    allowed: dict[int, bool] = {}
    for price in prices.all():
        if price.institution_id not in allowed:
            eligibility = await online_service_eligibility(
                session, actor, practitioner_id=practitioner_id, institution_id=price.institution_id
            )
            allowed[price.institution_id] = eligibility.allowed
        if allowed[price.institution_id]:
            offered.append(price)
    return offered


async def fee_of(
    session: AsyncSession, *, practitioner_id: int, institution_id: int, consultation_type: str
) -> int | None:
    """The doctor's fee for the type at the institution, or None when not offered."""
    price = await _price_row(session, practitioner_id, institution_id, consultation_type)
    return None if price is None else price.fee_fen


async def _price_row(
    session: AsyncSession, practitioner_id: int, institution_id: int, consultation_type: str
) -> ConsultationPrice | None:
    return await session.scalar(
        select(ConsultationPrice)
        .where(
            ConsultationPrice.practitioner_id == practitioner_id,
            ConsultationPrice.institution_id == institution_id,
            ConsultationPrice.consultation_type == consultation_type,
        )
        .execution_options(populate_existing=True)
    )
