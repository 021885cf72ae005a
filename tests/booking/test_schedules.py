"""Sessions (出诊): validation, exact slots in Asia/Shanghai, weekly schedules, overlaps, 停诊."""

import asyncio
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.booking.appointments import book_slot
from ihospital.booking.models import ScheduleSession
from ihospital.booking.schedules import (
    APPOINTMENT_CANCELLED,
    create_sessions,
    recurring_days,
    stop_session,
)
from ihospital.booking.schemas import slot_label
from ihospital.core.clock import SHANGHAI, FrozenClock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import Conflict, Forbidden, Unprocessable
from ihospital.outbox.models import OutboxEvent
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.conftest import START
from tests.identity.builders import make_patient

DAY = date(2026, 11, 30)  # released at the start clock (2026-11-23 09:00 local)


async def test_a_session_is_cut_into_exact_slots_stored_utc_shown_local(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY, capacity=12)
    assert [slot.position for slot in view.slots] == [1, 2, 3, 4, 5, 6]
    assert {slot.capacity for slot in view.slots} == {2}
    assert view.slots[0].starts_at == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert slot_label(view.slots[2]) == "2026-11-30 09:20–09:30"
    assert view.session.ends_at == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


async def test_a_late_evening_session_stays_on_its_local_day_near_midnight(session):
    clock = FrozenClock(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))  # 00:30 on the 24th local
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(
        session,
        clinic,
        clock=clock,
        day=date(2026, 11, 24),
        half_day="evening",
        start_time=time(23, 0),
        end_time=time(23, 50),
        capacity=5,
    )
    assert view.session.day == date(2026, 11, 24)
    assert view.slots[0].starts_at == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert {slot.starts_at.astimezone(SHANGHAI).date() for slot in view.slots} == {
        date(2026, 11, 24)
    }
    assert slot_label(view.slots[-1]) == "2026-11-24 23:40–23:50"
    # The UTC date is still the 23rd, but the 23rd is past in Shanghai.
    with pytest.raises(Unprocessable) as refused:
        await make_session(session, clinic, clock=clock, day=date(2026, 11, 23))
    assert refused.value.fields["field"] == "day"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": -6}, "capacity"),
        ({"capacity": 5}, "capacity"),  # six slots do not share five places evenly
        ({"slot_minutes": 7}, "slot_minutes"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"end_time": time(8, 30)}, "end_time"),
        ({"end_time": time(9, 0)}, "end_time"),
        ({"half_day": "afternoon"}, "start_time"),
        ({"start_time": time(9, 0, tzinfo=UTC)}, "start_time"),
        ({"fee_fen": -1}, "fee_fen"),
        ({"department_code": "07"}, "practitioner_id"),  # the doctor does not practise there
    ],
)
async def test_bad_sessions_are_refused_naming_the_field(session, clock, changes, field):
    clinic = await make_clinic(session, clock=clock)
    with pytest.raises(Unprocessable) as refused:
        await make_session(session, clinic, clock=clock, day=DAY, **changes)
    assert refused.value.fields["field"] == field


async def test_weekly_schedule_makes_one_session_per_chosen_weekday(session, clock):
    clinic = await make_clinic(session, clock=clock)
    days = recurring_days(date(2026, 11, 30), date(2026, 12, 13), [1, 3])
    views = await create_sessions(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        plan=clinic.plan(),
        days=days,
    )
    assert [view.session.day for view in views] == [
        date(2026, 11, 30),
        date(2026, 12, 2),
        date(2026, 12, 7),
        date(2026, 12, 9),
    ]
    with pytest.raises(Unprocessable):
        recurring_days(date(2026, 12, 13), date(2026, 11, 30), [1])
    with pytest.raises(Unprocessable):
        recurring_days(date(2026, 11, 30), date(2026, 11, 30), [2])


async def test_overlapping_sessions_of_one_doctor_are_refused(session, clock):
    clinic = await make_clinic(session, clock=clock)
    await make_session(session, clinic, clock=clock, day=DAY)
    with pytest.raises(Conflict) as refused:
        await make_session(
            session,
            clinic,
            clock=clock,
            day=DAY,
            start_time=time(9, 50),
            end_time=time(11, 0),
            capacity=7,
        )
    assert refused.value.code == "booking.session_overlap"
    await make_session(
        session, clinic, clock=clock, day=DAY, start_time=time(10, 0), end_time=time(11, 0)
    )


async def test_an_admin_of_another_institution_cannot_schedule_or_stop(session, clock):
    clinic = await make_clinic(session, clock=clock)
    other = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    with pytest.raises(Forbidden):
        await create_sessions(
            session,
            other.admin_actor(clock),
            institution_id=clinic.institution.id,
            plan=clinic.plan(),
            days=[DAY],
        )
    with pytest.raises(Forbidden):
        await stop_session(
            session,
            other.admin_actor(clock),
            institution_id=clinic.institution.id,
            session_id=view.session.id,
        )


async def test_stopping_a_session_cancels_its_bookings_and_announces_each(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patients = [await make_patient(session, clock=clock) for _ in range(2)]
    for patient, slot in zip(patients, view.slots, strict=False):
        await book_slot(
            session,
            booker(clock, patient),
            slot_id=slot.id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
    stopped = await stop_session(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        session_id=view.session.id,
    )
    assert stopped.session.status == "stopped"
    assert stopped.booked == 0
    events = (
        await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == APPOINTMENT_CANCELLED))
    ).all()
    assert len(events) == 2
    audit = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "booking.session.stop",
            AuditEntry.subject_id == str(view.session.id),
        )
    )
    assert audit is not None and audit.actor_account_id == clinic.admin.id
    with pytest.raises(Conflict):
        await stop_session(
            session,
            clinic.admin_actor(clock),
            institution_id=clinic.institution.id,
            session_id=view.session.id,
        )


async def test_simultaneous_overlapping_sessions_from_separate_connections_make_one(databases):
    """Two admins (separate processes: an engine each) schedule one doctor at the same hours at
    once: one session is created, the others are refused as overlapping. On PostgreSQL the
    doctor's row is locked before the overlap check; on SQLite every transaction takes the
    write lock at BEGIN (BEGIN IMMEDIATE), so the second check runs after the first commit."""
    url = await databases.fresh()
    engines = [make_engine(url) for _ in range(6)]
    clock = FrozenClock(START)
    try:
        async with make_sessionmaker(engines[0])() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)

        for engine in engines:  # connected beforehand, so that the requests start together
            async with engine.connect() as connection:
                await connection.execute(select(1))
        together = asyncio.Barrier(len(engines))

        async def schedule(engine, minute: int) -> str:
            await together.wait()
            try:
                async with make_sessionmaker(engine)() as session, session.begin():
                    await create_sessions(
                        session,
                        clinic.admin_actor(clock),
                        institution_id=clinic.institution.id,
                        plan=clinic.plan(start_time=time(9, minute), end_time=time(10, minute)),
                        days=recurring_days(date(2026, 11, 30), date(2027, 2, 28), [1, 3, 5]),
                    )
            except Conflict as refused:
                return refused.code
            return "created"

        outcomes = await asyncio.wait_for(
            asyncio.gather(*(schedule(engine, n * 5) for n, engine in enumerate(engines))), 120
        )
        assert sorted(outcomes) == ["booking.session_overlap"] * 5 + ["created"]
        async with make_sessionmaker(engines[0])() as session:
            starts = (await session.scalars(select(ScheduleSession.starts_at))).all()
        assert len(starts) == len(set(starts)) == 39  # one weekly schedule, no overlap
    finally:
        for engine in engines:
            await engine.dispose()
