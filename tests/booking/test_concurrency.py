"""A flash crowd on a real, committed database: 200 simultaneous bookings for a session of 20
slots give exactly 20 appointments, no slot twice and no 就诊人 twice; a vaccination window is
never booked over its places."""

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from ihospital.booking.appointments import book_slot, locked_appointment, locked_schedule
from ihospital.booking.dayof import check_in, record_missed_visit
from ihospital.booking.dayof_models import BookingSuspension, Visit
from ihospital.booking.models import Appointment, Slot
from ihospital.booking.schedules import stop_session
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import Conflict
from tests.booking.builders import (
    booker,
    make_clinic,
    make_resource,
    make_resource_session,
    make_session,
)
from tests.booking.test_schedules import DAY
from tests.conftest import START
from tests.identity.builders import make_patient

CHECK_IN_DAY = date(2026, 11, 24)


async def test_two_hundred_simultaneous_bookings_fill_twenty_slots_exactly(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)
            view = await make_session(
                session,
                clinic,
                clock=clock,
                day=DAY,
                end_time=time(10, 0),
                slot_minutes=3,
                capacity=20,
            )
            patients = [
                await make_patient(
                    session, clock=clock, birth_date=date(1960, 1, 1) + timedelta(days=i)
                )
                for i in range(150)
            ]
        slots = view.slots
        assert len(slots) == 20

        async def book(index: int) -> str:
            # Patients 0–49 try twice (two different slots); every slot gets single tries too.
            patient = patients[index % 150]
            try:
                async with factory() as session, session.begin():
                    await book_slot(
                        session,
                        booker(clock, patient),
                        slot_id=slots[index % 20].id,
                        patient_id=patient.id,
                        idempotency_key=f"flash-{index}",
                    )
            except Conflict as refused:
                return refused.code
            return "booked"

        outcomes = await asyncio.wait_for(asyncio.gather(*(book(i) for i in range(200))), 300)
        assert Counter(outcomes)["booked"] == 20
        assert set(outcomes) <= {"booked", "booking.slot_full", "booking.doctor_day_limit"}
        async with factory() as session:
            appointments = (await session.scalars(select(Appointment))).all()
            booked = await session.scalar(select(func.sum(Slot.booked)))
            full = await session.scalar(select(func.count()).where(Slot.booked == Slot.capacity))
        assert len(appointments) == 20 and booked == 20 and full == 20
        assert len({a.slot_id for a in appointments}) == 20
        assert len({a.patient_id for a in appointments}) == 20
    finally:
        await engine.dispose()


async def test_a_flash_crowd_never_takes_more_than_a_vaccination_windows_places(databases):
    """100 simultaneous bookings of one 20-place window of a vaccination session: exactly 20
    appointments, the window never over its places and no 就诊人 twice that day."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)
            resource = await make_resource(session, clinic, clock=clock)
            view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
            patients = [
                await make_patient(
                    session, clock=clock, birth_date=date(1990, 1, 1) + timedelta(days=i)
                )
                for i in range(60)
            ]
        window, other = view.slots[0], view.slots[1]

        async def book(index: int) -> str:
            # Patients 0–39 try twice: the crowded window, and another window the same day.
            patient = patients[index % 60]
            try:
                async with factory() as session, session.begin():
                    await book_slot(
                        session,
                        booker(clock, patient),
                        slot_id=(window if index < 60 else other).id,
                        patient_id=patient.id,
                        idempotency_key=f"window-{index}",
                    )
            except Conflict as refused:
                return refused.code
            return "booked"

        outcomes = await asyncio.wait_for(asyncio.gather(*(book(i) for i in range(100))), 300)
        assert set(outcomes) <= {"booked", "booking.slot_full", "booking.resource_day_limit"}
        async with factory() as session:
            appointments = (await session.scalars(select(Appointment))).all()
            crowded = await session.get(Slot, window.id)
        assert crowded.booked == crowded.capacity == 20
        assert sum(1 for a in appointments if a.slot_id == window.id) == 20
        assert len({a.patient_id for a in appointments}) == len(appointments)
        assert Counter(outcomes)["booked"] == len(appointments)
    finally:
        await engine.dispose()


async def test_a_booking_racing_a_stop_is_refused_or_cancelled(databases):
    """停诊 while a booking of the session is under way: the booking, having read the session
    open, waits for the stop and is refused; the session keeps no active appointment."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)
            view = await make_session(session, clinic, clock=clock, day=DAY)
            patient = await make_patient(session, clock=clock)

        async def book() -> str:
            try:
                async with factory() as session, session.begin():
                    await book_slot(
                        session,
                        booker(clock, patient),
                        slot_id=view.slots[0].id,
                        patient_id=patient.id,
                        idempotency_key="racing",
                    )
            except Conflict as refused:
                return refused.code
            return "booked"

        async with factory() as session, session.begin():
            await stop_session(
                session,
                clinic.admin_actor(clock),
                institution_id=clinic.institution.id,
                session_id=view.session.id,
            )
            booking = asyncio.create_task(book())
            await asyncio.sleep(0.5)  # the booking reads the session open, then waits
        assert await asyncio.wait_for(booking, 60) == "booking.session_stopped"
        async with factory() as session:
            active = await session.scalar(
                select(func.count()).where(Appointment.status != "cancelled")
            )
            booked = await session.scalar(select(func.sum(Slot.booked)))
        assert active == 0 and booked == 0
    finally:
        await engine.dispose()


async def test_check_in_queues_behind_a_session_lock_without_deadlock(databases):
    """签到 takes the session's lock before the appointment's, as stopping and freeing do: a
    transaction holding the session and then locking the appointment never deadlocks with it."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)
            view = await make_session(session, clinic, clock=clock, day=CHECK_IN_DAY)
            patient = await make_patient(session, clock=clock)
            booked = await book_slot(
                session,
                booker(clock, patient),
                slot_id=view.slots[0].id,
                patient_id=patient.id,
                idempotency_key="checking-in",
            )
        appointment_id = booked.appointment.id
        clock.set(datetime(2026, 11, 24, 0, 30, tzinfo=UTC))  # 08:30 in Shanghai

        async def arrive() -> int:
            async with factory() as session, session.begin():
                visit = await check_in(
                    session, booker(clock, patient), appointment_id=appointment_id
                )
                return visit.visit.queue_number

        async with factory() as session, session.begin():
            await locked_schedule(session, view.session.id)
            arriving = asyncio.create_task(arrive())
            await asyncio.sleep(0.5)  # the check-in waits for the session
            await locked_appointment(session, Appointment.id == appointment_id)
        assert await asyncio.wait_for(arriving, 60) == 1
    finally:
        await engine.dispose()


async def test_two_no_shows_recorded_at_once_are_counted_one_after_the_other(databases):
    """Two no-shows of one 就诊人 recorded in overlapping transactions (the after-session timers
    of two workers) count one after the other: with one earlier no-show they make three and
    suspend booking once, where each alone would have counted two."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    days = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    try:
        async with factory() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)
            patient = await make_patient(session, clock=clock)
            appointment_ids = []
            for day in days:
                view = await make_session(session, clinic, clock=clock, day=day)
                booked = await book_slot(
                    session,
                    booker(clock, patient),
                    slot_id=view.slots[0].id,
                    patient_id=patient.id,
                    idempotency_key=f"no-show-{day}",
                )
                appointment_ids.append(booked.appointment.id)
        clock.set(datetime(2026, 11, 26, 6, 0, tzinfo=UTC))  # 14:00 in Shanghai, all three over
        system = Actor.system(clock)
        async with factory() as session, session.begin():
            await record_missed_visit(session, system, appointment_id=appointment_ids[0])
        first_recorded = asyncio.Event()

        async def record_and_linger() -> None:
            async with factory() as session, session.begin():
                await record_missed_visit(session, system, appointment_id=appointment_ids[1])
                first_recorded.set()
                await asyncio.sleep(0.5)  # the other timer runs meanwhile

        async def record_meanwhile() -> None:
            await first_recorded.wait()
            async with factory() as session, session.begin():
                await record_missed_visit(session, system, appointment_id=appointment_ids[2])

        await asyncio.wait_for(asyncio.gather(record_and_linger(), record_meanwhile()), 60)
        async with factory() as session:
            suspensions = (await session.scalars(select(BookingSuspension))).all()
            outcomes = (await session.scalars(select(Visit.outcome))).all()
        assert outcomes == ["no_show"] * 3
        assert [s.no_show_count for s in suspensions] == [3]
    finally:
        await engine.dispose()
