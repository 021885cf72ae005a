"""Time limits and money: a consultation no doctor accepts in time is cancelled and refunded by
the outbox timer, one left without activity is closed, an unpaid fee's hold cancels it, and a
patient's cancellation of a paid consultation refunds the fee."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihospital.billing.models import Order, Refund
from ihospital.consultation.lifecycle import cancel_consultation
from ihospital.consultation.models import Consultation
from ihospital.consultation.workstation import accept_consultation, transfer_consultation
from ihospital.errors import Conflict
from ihospital.notifications.models import InboxMessage
from tests.billing.builders import (
    deliver,
    pay_bill,
    prepay_of,
    reloaded,
    run_outbox,
    sandbox,
    start_paying,
)
from tests.booking.builders import booker
from tests.consultation.builders import doctor_actor, make_practice, start
from tests.identity.builders import make_patient


async def _started(session, clock, *, fee_fen=0, **changes):
    practice = await make_practice(session, clock=clock, fee_fen=fee_fen)
    person = await make_patient(session, clock=clock)
    consultation = await start(session, clock, practice, person, **changes)
    return practice, person, consultation


async def _paid(session, session_factory, clock, consultation):
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, consultation.order_id))
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    return provider


async def _refunds(session, order_id):
    return (await session.scalars(select(Refund).where(Refund.order_id == order_id))).all()


async def test_a_consultation_not_accepted_in_24_hours_is_cancelled(
    session, session_factory, clock
):
    _, person, consultation = await _started(session, clock)
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(hours=23, minutes=59))
    assert (await reloaded(session, Consultation, consultation.id)).status == "waiting"
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=2))
    expired = await reloaded(session, Consultation, consultation.id)
    assert (expired.status, expired.cancel_reason) == ("cancelled", "not_accepted")
    told = await session.scalars(
        select(InboxMessage.title).where(InboxMessage.account_id == person.account_id)
    )
    assert "Your consultation was cancelled" in list(told)


async def test_a_paid_consultation_not_accepted_in_time_is_refunded(
    session, session_factory, clock
):
    _, _, consultation = await _started(session, clock, fee_fen=3000)
    provider = await _paid(session, session_factory, clock, consultation)
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(hours=25))
    assert (await reloaded(session, Consultation, consultation.id)).status == "cancelled"
    [refund] = await _refunds(session, consultation.order_id)
    assert refund.amount_fen == 3000
    assert (await reloaded(session, Order, consultation.order_id)).status == "refunded"


async def test_an_accepted_consultation_is_not_cancelled_by_the_deadline(
    session, session_factory, clock
):
    practice, _, consultation = await _started(session, clock)
    await accept_consultation(
        session, doctor_actor(clock, practice.doctor), consultation_id=consultation.id
    )
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(hours=25))
    assert (await reloaded(session, Consultation, consultation.id)).status == "in_progress"


async def test_a_transfer_gives_the_colleague_a_new_deadline(session, session_factory, clock):
    practice, _, consultation = await _started(session, clock)
    clock.advance(timedelta(hours=20))
    await transfer_consultation(
        session,
        doctor_actor(clock, practice.doctor),
        consultation_id=consultation.id,
        practitioner_id=practice.colleague.id,
    )
    await session.commit()
    # the first doctor's deadline passes: nothing happens
    await run_outbox(session_factory, clock, {}, advance=timedelta(hours=5))
    assert (await reloaded(session, Consultation, consultation.id)).status == "waiting"
    await run_outbox(session_factory, clock, {}, advance=timedelta(hours=20))
    assert (await reloaded(session, Consultation, consultation.id)).status == "cancelled"


async def test_a_video_consultation_waits_until_its_booked_time(session, session_factory, clock):
    booked_at = clock.now() + timedelta(days=3)
    _, _, consultation = await _started(
        session, clock, consultation_type="video", scheduled_at=booked_at
    )
    assert consultation.accept_by == booked_at
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(days=2))
    assert (await reloaded(session, Consultation, consultation.id)).status == "waiting"
    await run_outbox(session_factory, clock, {}, advance=timedelta(days=1, minutes=1))
    assert (await reloaded(session, Consultation, consultation.id)).status == "cancelled"


async def test_a_consultation_without_activity_for_48_hours_is_closed(
    session, session_factory, clock
):
    practice, _, consultation = await _started(session, clock)
    await accept_consultation(
        session, doctor_actor(clock, practice.doctor), consultation_id=consultation.id
    )
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(hours=47))
    assert (await reloaded(session, Consultation, consultation.id)).status == "in_progress"
    await run_outbox(session_factory, clock, {}, advance=timedelta(hours=2))
    closed = await reloaded(session, Consultation, consultation.id)
    assert (closed.status, closed.close_reason) == ("closed", "inactivity")


async def test_a_video_call_accepted_days_ahead_is_not_closed_before_its_time(
    session, session_factory, clock
):
    booked_at = clock.now() + timedelta(days=5)
    practice, _, consultation = await _started(
        session, clock, consultation_type="video", scheduled_at=booked_at
    )
    await accept_consultation(
        session, doctor_actor(clock, practice.doctor), consultation_id=consultation.id
    )
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(days=6))
    assert (await reloaded(session, Consultation, consultation.id)).status == "in_progress"
    await run_outbox(session_factory, clock, {}, advance=timedelta(days=1, hours=1))
    closed = await reloaded(session, Consultation, consultation.id)
    assert (closed.status, closed.close_reason) == ("closed", "inactivity")


async def test_an_unpaid_fee_cancels_the_consultation_when_its_hold_expires(
    session, session_factory, clock
):
    _, _, consultation = await _started(session, clock, fee_fen=3000)
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=16))
    unpaid = await reloaded(session, Consultation, consultation.id)
    assert (unpaid.status, unpaid.cancel_reason) == ("cancelled", "unpaid")
    assert (await reloaded(session, Order, consultation.order_id)).status == "expired"


async def test_cancelling_a_paid_waiting_consultation_refunds_the_fee(
    session, session_factory, clock
):
    _, person, consultation = await _started(session, clock, fee_fen=3000)
    provider = await _paid(session, session_factory, clock, consultation)
    await cancel_consultation(session, booker(clock, person), consultation_id=consultation.id)
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    [refund] = await _refunds(session, consultation.order_id)
    assert refund.amount_fen == 3000


async def test_paying_after_cancelling_refunds_the_fee(session, session_factory, clock):
    _, person, consultation = await _started(session, clock, fee_fen=3000)
    await cancel_consultation(session, booker(clock, person), consultation_id=consultation.id)
    await _paid(session, session_factory, clock, consultation)
    assert (await reloaded(session, Consultation, consultation.id)).status == "cancelled"
    [refund] = await _refunds(session, consultation.order_id)
    assert refund.amount_fen == 3000


async def test_cancelling_an_unpaid_consultation_refunds_nothing(session, session_factory, clock):
    _, person, consultation = await _started(session, clock, fee_fen=3000)
    await cancel_consultation(session, booker(clock, person), consultation_id=consultation.id)
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=16))
    assert await _refunds(session, consultation.order_id) == []


async def test_cancelling_an_unpaid_consultation_cancels_its_bill(session, session_factory, clock):
    _, person, consultation = await _started(session, clock, fee_fen=3000)
    await cancel_consultation(session, booker(clock, person), consultation_id=consultation.id)
    await session.commit()
    await run_outbox(session_factory, clock, {})
    order = await reloaded(session, Order, consultation.order_id)
    assert order.status == "cancelled"
    with pytest.raises(Conflict) as refused:
        await start_paying(session, clock, sandbox(clock), order)
    assert refused.value.code == "billing.order_cancelled"
    assert (await reloaded(session, Consultation, consultation.id)).status == "cancelled"


async def test_a_payment_begun_before_the_cancellation_is_refunded(session, session_factory, clock):
    _, person, consultation = await _started(session, clock, fee_fen=3000)
    provider = sandbox(clock)
    payment = await start_paying(
        session, clock, provider, await session.get(Order, consultation.order_id)
    )
    await cancel_consultation(session, booker(clock, person), consultation_id=consultation.id)
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    [delivery] = await provider.pay(prepay_of(payment))
    await deliver(session, clock, provider, delivery.body)
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    assert (await reloaded(session, Order, consultation.order_id)).status == "cancelled"
    [refund] = await _refunds(session, consultation.order_id)
    assert refund.amount_fen == 3000
