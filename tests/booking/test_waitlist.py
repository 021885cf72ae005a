"""候补: a full session's waitlist gets freed places in order, exactly once, with their own hold;
joining is idempotent and checked against the booking rules; many cancellations and joins at
once never give one place twice."""

import asyncio
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ihospital.booking.appointments import book_slot, list_appointments
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.models import Appointment, Slot, WaitlistEntry
from ihospital.booking.rules import DEFAULTS, set_rules
from ihospital.booking.waitlist import join_waitlist, leave_waitlist
from ihospital.core.clock import FrozenClock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import AppError, Conflict
from ihospital.identity.models import Account
from ihospital.identity.patients import deactivate_patient
from ihospital.notifications.models import InboxMessage
from tests.billing.builders import reloaded, run_outbox
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.conftest import START
from tests.directory.builders import bearer
from tests.identity.builders import make_patient

DAY = date(2026, 11, 30)


async def _full_session(session, clock, *, fee_fen=0, capacity=1):
    """A one-slot session, fully booked by as many patients as it has places."""
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(
        session,
        clinic,
        clock=clock,
        day=DAY,
        fee_fen=fee_fen,
        capacity=capacity,
        slot_minutes=60,
    )
    holders = []
    for _ in range(capacity):
        patient = await make_patient(session, clock=clock)
        booked = await book_slot(
            session,
            booker(clock, patient),
            slot_id=view.slots[0].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
        holders.append((patient, booked.appointment))
    return view, holders


async def _join(session, clock, view):
    patient = await make_patient(session, clock=clock)
    entry = await join_waitlist(
        session,
        booker(clock, patient),
        session_id=view.session.id,
        patient_id=patient.id,
        slot_id=None,
    )
    return patient, entry


async def test_a_cancellation_is_offered_to_the_first_in_line_once(session, clock):
    view, [(holder, appointment)] = await _full_session(session, clock)
    first, first_entry = await _join(session, clock, view)
    again = await join_waitlist(
        session, booker(clock, first), session_id=view.session.id, patient_id=first.id, slot_id=None
    )
    assert again.id == first_entry.id
    second, second_entry = await _join(session, clock, view)
    await cancel_appointment(session, booker(clock, holder), appointment_id=appointment.id)
    first_entry = await reloaded(session, WaitlistEntry, first_entry.id)
    assert first_entry.status == "offered"
    assert (await reloaded(session, WaitlistEntry, second_entry.id)).status == "waiting"
    [offered] = await list_appointments(session, booker(clock, first))
    assert offered.appointment.id == first_entry.appointment_id
    assert offered.appointment.status == "confirmed"
    assert (await reloaded(session, Slot, view.slots[0].id)).booked == 1


async def test_joining_needs_a_full_session_and_leaving_ends_waiting(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    with pytest.raises(Conflict) as refused:
        await join_waitlist(
            session,
            booker(clock, patient),
            session_id=view.session.id,
            patient_id=patient.id,
            slot_id=None,
        )
    assert refused.value.code == "booking.places_free"
    full, _ = await _full_session(session, clock)
    waiting, entry = await _join(session, clock, full)
    left = await leave_waitlist(session, booker(clock, waiting), entry_id=entry.id)
    assert left.status == "left"


async def test_an_expired_hold_is_offered_to_the_next_waitlisted(session, session_factory, clock):
    view, [(_, appointment)] = await _full_session(session, clock, fee_fen=5000)
    waiting, entry = await _join(session, clock, view)
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=16))
    entry = await reloaded(session, WaitlistEntry, entry.id)
    assert (await reloaded(session, Appointment, appointment.id)).status == "cancelled"
    assert entry.status == "offered"
    offered = await reloaded(session, Appointment, entry.appointment_id)
    assert offered.status == "pending_payment" and offered.order_id is not None
    assert offered.patient_id == waiting.id


async def test_a_place_is_not_offered_to_a_patient_who_holds_it(session, clock):
    clinic = await make_clinic(session, clock=clock)
    await set_rules(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        rules=replace(DEFAULTS, max_per_doctor_per_day=2),
    )
    view = await make_session(session, clinic, clock=clock, day=DAY, capacity=2, slot_minutes=60)
    holder, other = [await make_patient(session, clock=clock) for _ in range(2)]
    for patient in (holder, other):
        booked = await book_slot(
            session,
            booker(clock, patient),
            slot_id=view.slots[0].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
    appointment = booked.appointment
    holding = await join_waitlist(
        session,
        booker(clock, holder),
        session_id=view.session.id,
        patient_id=holder.id,
        slot_id=None,
    )
    _, entry = await _join(session, clock, view)
    await cancel_appointment(session, booker(clock, other), appointment_id=appointment.id)
    assert (await reloaded(session, WaitlistEntry, holding.id)).status == "waiting"
    assert (await reloaded(session, WaitlistEntry, entry.id)).status == "offered"


async def test_an_offer_that_cannot_be_taken_passes_to_the_next_in_line(session, clock):
    view, [(holder, appointment)] = await _full_session(session, clock)
    first, first_entry = await _join(session, clock, view)
    second, second_entry = await _join(session, clock, view)
    clinic = await make_clinic(session, clock=clock)
    elsewhere = await make_session(session, clinic, clock=clock, day=DAY)
    await book_slot(  # a key of the offer's form, taken before such keys were refused
        session,
        booker(clock, first),
        slot_id=elsewhere.slots[0].id,
        patient_id=first.id,
        idempotency_key=f"waitlist:{first_entry.id}",
    )
    await cancel_appointment(session, booker(clock, holder), appointment_id=appointment.id)
    assert (await reloaded(session, WaitlistEntry, first_entry.id)).status == "lapsed"
    second_entry = await reloaded(session, WaitlistEntry, second_entry.id)
    assert second_entry.status == "offered"
    offered = await reloaded(session, Appointment, second_entry.appointment_id)
    assert offered.patient_id == second.id and offered.status == "confirmed"
    slot = await reloaded(session, Slot, view.slots[0].id)
    assert slot.booked == 1


async def test_the_offers_key_form_is_refused_to_clients(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    account = await session.get(Account, patient.account_id)
    headers = await bearer(session, clock=clock, account=account)
    body = {"slot_id": view.slots[0].id, "patient_id": patient.id}
    for key in ("waitlist:1", "", "x" * 129, "a b"):
        refused = await client.post(
            "/api/appointments", json={**body, "idempotency_key": key}, headers=headers
        )
        assert refused.status_code == 422, key
        assert refused.json()["field"] == "idempotency_key"
    booked = await client.post(
        "/api/appointments", json={**body, "idempotency_key": "0b1c-x_Z"}, headers=headers
    )
    assert booked.status_code == 201, booked.text
    assert await session.scalar(select(func.count()).select_from(Appointment)) == 1


async def test_a_removed_patient_can_neither_book_nor_wait(session, clock):
    full, _ = await _full_session(session, clock)
    clinic = await make_clinic(session, clock=clock)
    free = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    await deactivate_patient(session, booker(clock, patient), patient_id=patient.id)
    with pytest.raises(Conflict) as refused:
        await book_slot(
            session,
            booker(clock, patient),
            slot_id=free.slots[0].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
    assert refused.value.code == "booking.patient_removed"
    with pytest.raises(Conflict) as refused:
        await join_waitlist(
            session,
            booker(clock, patient),
            session_id=full.session.id,
            patient_id=patient.id,
            slot_id=None,
        )
    assert refused.value.code == "booking.patient_removed"
    assert await session.scalar(select(func.count()).select_from(WaitlistEntry)) == 0


async def test_waitlist_routes_over_http(client, session, clock):
    view, _ = await _full_session(session, clock)
    patient = await make_patient(session, clock=clock)
    account = await session.get(Account, patient.account_id)
    headers = await bearer(session, clock=clock, account=account)
    body = {"session_id": view.session.id, "patient_id": patient.id}
    joined = await client.post("/api/waitlist", json=body, headers=headers)
    assert joined.status_code == 201, joined.text
    mine = await client.get("/api/waitlist", headers=headers)
    assert [e["id"] for e in mine.json()] == [joined.json()["id"]]
    left = await client.post(f"/api/waitlist/{joined.json()['id']}/leave", headers=headers)
    assert left.json()["status"] == "left"


async def test_many_cancellations_and_joins_at_once_never_give_a_place_twice(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            view, holders = await _full_session(session, clock, capacity=10)
            joiners = [await make_patient(session, clock=clock) for _ in range(20)]

        async def cancel(patient, appointment) -> str:
            async with factory() as session, session.begin():
                await cancel_appointment(
                    session, booker(clock, patient), appointment_id=appointment.id
                )
            return "cancelled"

        async def join(patient) -> str:
            try:
                async with factory() as session, session.begin():
                    await join_waitlist(
                        session,
                        booker(clock, patient),
                        session_id=view.session.id,
                        patient_id=patient.id,
                        slot_id=None,
                    )
            except AppError as refused:
                return refused.code
            return "joined"

        outcomes = await asyncio.wait_for(
            asyncio.gather(*(cancel(p, a) for p, a in holders), *(join(p) for p in joiners)),
            300,
        )
        assert outcomes.count("cancelled") == 10
        async with factory() as session:
            active = (
                await session.scalars(select(Appointment).where(Appointment.status == "confirmed"))
            ).all()
            booked = await session.scalar(select(func.sum(Slot.booked)))
            offered = await session.scalar(
                select(func.count()).where(WaitlistEntry.status == "offered")
            )
        assert booked == len(active) <= 10
        assert offered == len(active)
        assert len({a.patient_id for a in active}) == len(active)
    finally:
        await engine.dispose()


async def test_the_waitlisted_account_is_told_its_place_came_up(session, session_factory, clock):
    async with session_factory() as setup, setup.begin():
        view, [(holder, appointment)] = await _full_session(setup, clock, fee_fen=5000)
        first, _ = await _join(setup, clock, view)
        await cancel_appointment(setup, booker(clock, holder), appointment_id=appointment.id)
    await run_outbox(session_factory, clock, {})
    async with session_factory() as check:
        [message] = (
            await check.scalars(
                select(InboxMessage).where(InboxMessage.account_id == first.account_id)
            )
        ).all()
    assert message.title == "Your waitlist place came up"
    assert "{minutes}" in message.body and message.link == "/appointments"
