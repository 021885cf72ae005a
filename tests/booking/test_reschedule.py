"""改约: an appointment moves to another free slot of the same doctor, department, visit and fee,
until the cutoff; atomically (one place held, never two, never none), keeping its payment, giving
the freed place to the waitlist, with reminders for the new time; replays answer the same move."""

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order, Payment, Refund
from ihospital.booking.appointments import book_slot
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.models import Appointment, Reschedule, Slot, WaitlistEntry
from ihospital.booking.reschedule import APPOINTMENT_RESCHEDULED, reschedule_appointment
from ihospital.booking.rules import DEFAULTS, set_rules
from ihospital.booking.waitlist import join_waitlist
from ihospital.core.clock import FrozenClock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import AppError, Conflict, NotFound, Unprocessable
from ihospital.identity.models import Account
from ihospital.notifications.models import InboxMessage
from ihospital.notifications.senders import SandboxSmsSender
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import drain
from tests.billing.builders import pay_bill, reloaded, run_outbox, sandbox
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.conftest import START
from tests.directory.builders import bearer
from tests.identity.builders import make_patient

DAY = date(2026, 11, 30)
NEXT_DAY = date(2026, 12, 1)  # released at 2026-11-24 08:00 local


async def _booked(session, clock, *, fee_fen=0, capacity=6, slot=0):
    """A clinic with a session on DAY and one on NEXT_DAY, and one appointment on DAY."""
    clinic = await make_clinic(session, clock=clock)
    today = await make_session(
        session, clinic, clock=clock, day=DAY, fee_fen=fee_fen, capacity=capacity
    )
    later = await make_session(
        session, clinic, clock=clock, day=NEXT_DAY, fee_fen=fee_fen, capacity=capacity
    )
    patient = await make_patient(session, clock=clock)
    booked = await book_slot(
        session,
        booker(clock, patient),
        slot_id=today.slots[slot].id,
        patient_id=patient.id,
        idempotency_key=new_key(),
    )
    return clinic, today, later, patient, booked.appointment


async def _move(session, clock, patient, appointment, slot, key=None):
    return await reschedule_appointment(
        session,
        booker(clock, patient),
        appointment_id=appointment.id,
        slot_id=slot.id,
        idempotency_key=key or new_key(),
    )


async def _booked_counts(session, *slots):
    return [(await reloaded(session, Slot, slot.id)).booked for slot in slots]


async def test_an_appointment_moves_to_another_day_keeping_its_identity(session, clock):
    clock.set(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # NEXT_DAY released
    _, today, later, patient, appointment = await _booked(session, clock)
    moved = await _move(session, clock, patient, appointment, later.slots[2])
    assert moved.appointment.id == appointment.id
    assert moved.appointment.patient_id == patient.id
    assert (moved.slot.id, moved.schedule.id, moved.appointment.day) == (
        later.slots[2].id,
        later.session.id,
        NEXT_DAY,
    )
    assert moved.appointment.status == "confirmed" and moved.queue_number == 1
    assert await _booked_counts(session, today.slots[0], later.slots[2]) == [0, 1]
    [move] = (await session.scalars(select(Reschedule))).all()
    assert (move.from_slot_id, move.to_slot_id) == (today.slots[0].id, later.slots[2].id)
    audit = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "booking.appointment.reschedule")
    )
    assert audit.patient_id == patient.id and audit.subject_id == str(appointment.id)
    notice = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.topic == APPOINTMENT_RESCHEDULED)
    )
    assert notice is not None


async def test_the_rules_of_the_new_day_leave_the_appointment_itself_out(session, clock):
    clinic, today, _, patient, appointment = await _booked(session, clock)
    # One per doctor and day: moving within the day is no second appointment that day.
    moved = await _move(session, clock, patient, appointment, today.slots[3])
    assert moved.slot.id == today.slots[3].id
    # ... but a day on which the patient already sees this doctor is refused.
    afternoon = await make_session(
        session,
        clinic,
        clock=clock,
        day=date(2026, 11, 29),
        half_day="afternoon",
        start_time=time(14, 0),
        end_time=time(15, 0),
    )
    other = await make_session(session, clinic, clock=clock, day=date(2026, 11, 29))
    await book_slot(
        session,
        booker(clock, patient),
        slot_id=afternoon.slots[0].id,
        patient_id=patient.id,
        idempotency_key=new_key(),
    )
    with pytest.raises(Conflict) as refused:
        await _move(session, clock, patient, appointment, other.slots[0])
    assert refused.value.code == "booking.doctor_day_limit"
    assert (await reloaded(session, Appointment, appointment.id)).slot_id == today.slots[3].id


async def test_a_slot_the_patient_already_holds_is_refused(session, clock):
    clinic, today, _, patient, appointment = await _booked(session, clock, capacity=12)
    await set_rules(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        rules=replace(DEFAULTS, max_per_doctor_per_day=2),
    )
    await book_slot(
        session,
        booker(clock, patient),
        slot_id=today.slots[1].id,
        patient_id=patient.id,
        idempotency_key=new_key(),
    )
    appointment_id = appointment.id  # the refused move's savepoint expires the loaded row
    with pytest.raises(Conflict) as refused:
        await _move(session, clock, patient, appointment, today.slots[1])
    assert refused.value.code == "booking.already_booked"
    assert await _booked_counts(session, today.slots[0], today.slots[1]) == [1, 1]
    assert (await reloaded(session, Appointment, appointment_id)).slot_id == today.slots[0].id


async def test_a_full_slot_is_refused_and_nothing_moves(session, clock):
    _, today, _, patient, appointment = await _booked(session, clock)
    taker = await make_patient(session, clock=clock)
    await book_slot(
        session,
        booker(clock, taker),
        slot_id=today.slots[1].id,
        patient_id=taker.id,
        idempotency_key=new_key(),
    )
    with pytest.raises(Conflict) as refused:
        await _move(session, clock, patient, appointment, today.slots[1])
    assert refused.value.code == "booking.slot_full"
    assert await _booked_counts(session, today.slots[0], today.slots[1]) == [1, 1]
    assert (await reloaded(session, Appointment, appointment.id)).slot_id == today.slots[0].id


async def test_a_slot_that_has_begun_is_refused(session, clock):
    clinic, _, _, patient, appointment = await _booked(session, clock)
    now_session = await make_session(session, clinic, clock=clock, day=START.date())
    clock.set(now_session.slots[1].starts_at)
    with pytest.raises(Unprocessable) as refused:
        await _move(session, clock, patient, appointment, now_session.slots[0])
    assert refused.value.code == "booking.slot_in_past"


async def test_after_the_cutoff_the_appointment_stays(session, clock):
    _, today, _, patient, appointment = await _booked(session, clock)
    clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))  # 18:00 the day before, local
    with pytest.raises(Conflict) as refused:
        await _move(session, clock, patient, appointment, today.slots[1])
    assert refused.value.code == "booking.reschedule_too_late"
    assert refused.value.fields["deadline"] == "2026-11-29 18:00"


async def test_another_accounts_appointment_is_not_found(session, clock):
    _, today, _, _, appointment = await _booked(session, clock)
    stranger = await make_patient(session, clock=clock)
    with pytest.raises(NotFound):
        await _move(session, clock, stranger, appointment, today.slots[1])


async def test_another_fee_or_another_doctor_is_refused(session, clock):
    clinic, _, _, patient, appointment = await _booked(session, clock)
    dearer = await make_session(
        session,
        clinic,
        clock=clock,
        day=date(2026, 11, 29),
        fee_fen=5000,
    )
    with pytest.raises(Unprocessable) as refused:
        await _move(session, clock, patient, appointment, dearer.slots[0])
    assert refused.value.code == "booking.reschedule_fee_differs"
    online = await make_session(
        session,
        clinic,
        clock=clock,
        day=date(2026, 11, 28),
        visit_type="online",
    )
    with pytest.raises(Unprocessable) as refused:
        await _move(session, clock, patient, appointment, online.slots[0])
    assert refused.value.code == "booking.reschedule_elsewhere"
    elsewhere = await make_session(
        session, await make_clinic(session, clock=clock), clock=clock, day=DAY
    )
    with pytest.raises(Unprocessable) as refused:
        await _move(session, clock, patient, appointment, elsewhere.slots[0])
    assert refused.value.code == "booking.reschedule_elsewhere"


async def test_the_freed_place_is_offered_to_the_waitlist(session, clock):
    _, today, _, holder, appointment = await _booked(session, clock)
    waiting = await make_patient(session, clock=clock)
    entry = await join_waitlist(
        session,
        booker(clock, waiting),
        session_id=today.session.id,
        patient_id=waiting.id,
        slot_id=today.slots[0].id,
    )
    await _move(session, clock, holder, appointment, today.slots[1])
    entry = await reloaded(session, WaitlistEntry, entry.id)
    assert entry.status == "offered"
    offered = await reloaded(session, Appointment, entry.appointment_id)
    assert (offered.slot_id, offered.patient_id, offered.status) == (
        today.slots[0].id,
        waiting.id,
        "confirmed",
    )
    assert await _booked_counts(session, today.slots[0], today.slots[1]) == [1, 1]


async def test_a_paid_appointment_stays_paid(session, session_factory, clock):
    _, today, _, patient, appointment = await _booked(session, clock, fee_fen=5000)
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, appointment.order_id))
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    assert (await reloaded(session, Appointment, appointment.id)).status == "confirmed"
    moved = await _move(session, clock, patient, appointment, today.slots[4])
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    moved = await reloaded(session, Appointment, appointment.id)
    assert (moved.status, moved.order_id, moved.slot_id) == (
        "confirmed",
        appointment.order_id,
        today.slots[4].id,
    )
    assert (await reloaded(session, Order, appointment.order_id)).status == "paid"
    payments = await session.scalar(
        select(func.count(Payment.id)).where(Payment.order_id == appointment.order_id)
    )
    refunds = await session.scalar(
        select(func.count(Refund.id)).where(Refund.order_id == appointment.order_id)
    )
    assert (payments, refunds) == (1, 0)
    assert await session.scalar(select(func.count(Order.id))) == 1


async def test_an_unpaid_appointment_keeps_its_order_and_hold(session, session_factory, clock):
    _, today, _, patient, appointment = await _booked(session, clock, fee_fen=5000)
    order_id, hold = appointment.order_id, appointment.hold_expires_at
    clock.advance(timedelta(minutes=5))
    moved = await _move(session, clock, patient, appointment, today.slots[2])
    assert (moved.appointment.status, moved.appointment.order_id) == ("pending_payment", order_id)
    assert moved.appointment.hold_expires_at == hold
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=11))
    expired = await reloaded(session, Appointment, appointment.id)
    assert (expired.status, expired.cancel_reason) == ("cancelled", "unpaid")
    assert await _booked_counts(session, today.slots[0], today.slots[2]) == [0, 0]


async def test_a_replay_answers_the_same_move(session, clock):
    _, today, _, patient, appointment = await _booked(session, clock)
    once = await _move(session, clock, patient, appointment, today.slots[1], key="move")
    twice = await _move(session, clock, patient, appointment, today.slots[1], key="move")
    assert (once.appointment.id, once.slot.id) == (twice.appointment.id, twice.slot.id)
    assert await session.scalar(select(func.count(Reschedule.id))) == 1
    assert await _booked_counts(session, today.slots[0], today.slots[1]) == [0, 1]
    with pytest.raises(Conflict) as refused:
        await _move(session, clock, patient, appointment, today.slots[2], key="move")
    assert refused.value.code == "booking.idempotency_key_reused"


async def test_reminders_follow_the_new_time(session, session_factory, clock):
    clinic, today, _, patient, appointment = await _booked(session, clock)
    clock.set(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # NEXT_DAY released
    later = await make_session(
        session,
        clinic,
        clock=clock,
        day=NEXT_DAY,
        half_day="afternoon",
        start_time=time(14, 0),
        end_time=time(15, 0),
    )
    await _move(session, clock, patient, appointment, later.slots[0])
    await session.commit()
    # The old time's reminders and no-show check come due and stay silent.
    clock.set(today.session.ends_at + timedelta(hours=1))
    await run_outbox(session_factory, clock, {})
    assert (await reloaded(session, Appointment, appointment.id)).status == "confirmed"
    assert (await session.scalars(select(InboxMessage.title))).all() == [
        "Your appointment was rescheduled"
    ]
    clock.set(later.slots[0].starts_at - timedelta(hours=1))
    await drain(session_factory, clock, limit=50, services={"sms_sender": SandboxSmsSender()})
    reminders = (
        await session.scalars(
            select(InboxMessage).where(InboxMessage.title == "Appointment reminder")
        )
    ).all()
    assert len(reminders) == 2  # the day before and the hour before the new time
    assert all("2026-12-01 14:00" in message.fields for message in reminders)


async def test_reschedule_over_http(client, session, clock):
    _, today, _, patient, appointment = await _booked(session, clock)
    account = await session.get(Account, patient.account_id)
    headers = await bearer(session, clock=clock, account=account)
    path = f"/api/appointments/{appointment.id}/reschedule"
    body = {"slot_id": today.slots[1].id, "idempotency_key": "http-move"}
    moved = await client.post(path, json=body, headers=headers)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["id"], moved.json()["slot_id"]) == (appointment.id, today.slots[1].id)
    again = await client.post(path, json=body, headers=headers)
    assert again.json() == moved.json()
    bad = await client.post(path, json={"slot_id": 0}, headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem")
    stranger = await make_patient(session, clock=clock)
    stranger_account = await session.get(Account, stranger.account_id)
    theirs = await bearer(session, clock=clock, account=stranger_account)
    other = {"slot_id": today.slots[2].id, "idempotency_key": "theirs"}
    refused = await client.post(path, json=other, headers=theirs)
    assert refused.status_code == 404
    assert refused.json()["code"] == "booking.appointment_not_found"


async def _committed_world(factory, clock, *, movers: int):
    """On a committed database: ``movers`` appointments in slot 1 of a session whose slot 2
    has one place left."""
    async with factory() as session, session.begin():
        clinic = await make_clinic(session, clock=clock)
        view = await make_session(session, clinic, clock=clock, day=DAY, capacity=12)
        booked = []
        for index in range(movers + 1):
            patient = await make_patient(session, clock=clock)
            slot = view.slots[1] if index == movers else view.slots[0]
            made = await book_slot(
                session,
                booker(clock, patient),
                slot_id=slot.id,
                patient_id=patient.id,
                idempotency_key=new_key(),
            )
            booked.append((patient, made.appointment))
    return view, booked[:movers]


async def _attempt(factory, change) -> str:
    try:
        async with factory() as session, session.begin():
            await change(session)
    except AppError as refused:
        return refused.code
    return "done"


async def test_two_reschedules_into_the_last_place_move_only_one(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        view, movers = await _committed_world(factory, clock, movers=2)

        def move(patient, appointment):
            return lambda session: _move(session, clock, patient, appointment, view.slots[1])

        outcomes = await asyncio.wait_for(
            asyncio.gather(*(_attempt(factory, move(p, a)) for p, a in movers)), 120
        )
        assert sorted(outcomes) == ["booking.slot_full", "done"]
        async with factory() as session:
            slots = (
                await session.scalars(select(Slot).where(Slot.session_id == view.session.id))
            ).all()
            active = (await session.scalars(select(Appointment))).all()
        by_slot = {slot.id: slot.booked for slot in slots}
        assert by_slot[view.slots[0].id] == 1 and by_slot[view.slots[1].id] == 2
        assert sorted(a.slot_id for a in active) == sorted(
            [view.slots[0].id, view.slots[1].id, view.slots[1].id]
        )
    finally:
        await engine.dispose()


async def test_a_reschedule_racing_a_cancellation_holds_one_place_or_none(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        view, [(patient, appointment)] = await _committed_world(factory, clock, movers=1)
        actor = booker(clock, patient)
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                _attempt(factory, lambda s: _move(s, clock, patient, appointment, view.slots[2])),
                _attempt(
                    factory,
                    lambda s: cancel_appointment(s, actor, appointment_id=appointment.id),
                ),
            ),
            120,
        )
        assert outcomes[1] == "done"  # the cancellation wins either way
        assert outcomes[0] in ("done", "booking.not_active")
        async with factory() as session:
            mine = await session.get(Appointment, appointment.id)
            booked = await session.scalar(
                select(func.sum(Slot.booked)).where(Slot.session_id == view.session.id)
            )
            active = await session.scalar(
                select(func.count(Appointment.id)).where(Appointment.status != "cancelled")
            )
        assert mine.status == "cancelled"
        assert booked == active == 1  # only the other patient's place is taken
    finally:
        await engine.dispose()
