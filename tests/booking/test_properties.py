"""Property: whatever patients book and cancel, in any order, the booking rules hold and no
slot holds more than its capacity."""

from collections import Counter
from datetime import date, time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ihospital.booking.appointments import book_slot
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.models import ACTIVE_STATUSES, Appointment, Slot
from ihospital.core.clock import FrozenClock
from ihospital.errors import AppError
from tests.booking.builders import booker, make_clinic, make_session
from tests.conftest import START
from tests.identity.builders import make_patient

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["book", "book", "cancel"]),
        st.integers(0, 3),  # patient
        st.integers(0, 11),  # slot (two sessions of two slots of capacity 2, three days)
        st.integers(0, 3),  # idempotency key
    ),
    min_size=1,
    max_size=25,
)
_WORLDS: dict[int, tuple] = {}


async def _world(session):
    """Sessions on three days (two a day, 2 slots × 2 places each) and four 就诊人."""
    if id(session) not in _WORLDS:
        clock = FrozenClock(START)
        clinic = await make_clinic(session, clock=clock)
        slots = []
        for day in (date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)):
            for start, end, half in (
                (time(9), time(9, 20), "morning"),
                (time(14), time(14, 20), "afternoon"),
            ):
                view = await make_session(
                    session,
                    clinic,
                    clock=clock,
                    day=day,
                    half_day=half,
                    start_time=start,
                    end_time=end,
                    capacity=4,
                )
                slots += view.slots
        patients = [
            await make_patient(session, clock=clock, birth_date=date(1970 + n, 1, 1))
            for n in range(4)
        ]
        _WORLDS[id(session)] = (clinic, slots, patients)
    return _WORLDS[id(session)]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
async def test_booking_rules_hold_under_any_sequence(session, operations):
    _, slots, patients = await _world(session)
    clock = FrozenClock(START)
    async with session.begin_nested() as example:
        for kind, who, where, key in operations:
            patient = patients[who]
            try:
                async with session.begin_nested():
                    if kind == "book":
                        await book_slot(
                            session,
                            booker(clock, patient),
                            slot_id=slots[where].id,
                            patient_id=patient.id,
                            idempotency_key=f"p{who}-{key}",
                        )
                    else:
                        mine = await session.scalar(
                            select(Appointment.id).where(
                                Appointment.patient_id == patient.id,
                                Appointment.status.in_(ACTIVE_STATUSES),
                            )
                        )
                        if mine is not None:
                            await cancel_appointment(
                                session, booker(clock, patient), appointment_id=mine
                            )
            except AppError:
                pass
            active = (
                await session.scalars(
                    select(Appointment).where(Appointment.status.in_(ACTIVE_STATUSES))
                )
            ).all()
            for slot in (
                await session.scalars(select(Slot).execution_options(populate_existing=True))
            ).all():
                held = sum(1 for a in active if a.slot_id == slot.id)
                assert slot.booked == held <= slot.capacity
            per_doctor_day = Counter((a.patient_id, a.practitioner_id, a.day) for a in active)
            assert max(per_doctor_day.values(), default=0) <= 1
            per_institution = Counter(a.patient_id for a in active)
            assert max(per_institution.values(), default=0) <= 3
        await example.rollback()
