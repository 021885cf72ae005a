"""Booking rules: release time, past and stopped slots, per-就诊人 limits, children's
departments, capacity, idempotency, ownership, cancellation cutoff and audit."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from ihospital.audit.models import AuditEntry
from ihospital.booking import appointments
from ihospital.booking.appointments import book_slot, list_appointments
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.models import ScheduleSession, Slot
from ihospital.booking.rules import DEFAULTS, set_rules
from ihospital.booking.schedules import stop_session
from ihospital.core.clock import FrozenClock
from ihospital.errors import Conflict, NotFound, TooEarly, Unprocessable
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.conftest import START
from tests.identity.builders import make_patient

DAY = date(2026, 11, 30)


async def _book(session, clock, patient, slot, key=None):
    return await book_slot(
        session,
        booker(clock, patient),
        slot_id=slot.id,
        patient_id=patient.id,
        idempotency_key=key or new_key(),
    )


async def test_a_booking_has_its_exact_time_place_and_queue_order(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY, capacity=12)
    first, second, third = [await make_patient(session, clock=clock) for _ in range(3)]
    late = await _book(session, clock, first, view.slots[1])
    early = await _book(session, clock, second, view.slots[0])
    early_again = await _book(session, clock, third, view.slots[0])
    assert (early.queue_number, early_again.queue_number) == (1, 2)
    [late] = [v for v in await list_appointments(session, booker(clock, first))]
    assert late.queue_number == 3
    assert late.slot.starts_at == datetime(2026, 11, 30, 1, 10, tzinfo=UTC)
    assert late.schedule.institution_id == clinic.institution.id
    assert late.schedule.department_code == "03.04"
    assert late.appointment.status == "confirmed"
    audit = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "booking.appointment.book",
            AuditEntry.subject_id == str(early.appointment.id),
        )
    )
    assert audit is not None and audit.patient_id == second.id


async def test_the_same_idempotency_key_answers_the_same_appointment(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    once = await _book(session, clock, patient, view.slots[0], key="same")
    twice = await _book(session, clock, patient, view.slots[0], key="same")
    assert once.appointment.id == twice.appointment.id
    assert twice.slot.booked == 1
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, patient, view.slots[1], key="same")
    assert refused.value.code == "booking.idempotency_key_reused"


async def test_another_accounts_patient_is_not_found(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    mine, theirs = (
        await make_patient(session, clock=clock),
        await make_patient(session, clock=clock),
    )
    with pytest.raises(NotFound):
        await book_slot(
            session,
            booker(clock, mine),
            slot_id=view.slots[0].id,
            patient_id=theirs.id,
            idempotency_key=new_key(),
        )


async def test_slots_open_at_release_time_not_a_second_before(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=date(2026, 12, 1))
    patient = await make_patient(session, clock=clock)
    release = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 2026-11-24 08:00 in Shanghai
    clock.set(release - timedelta(seconds=1))
    with pytest.raises(TooEarly) as refused:
        await _book(session, clock, patient, view.slots[0])
    assert refused.value.status == 425
    assert refused.value.fields["release_time"] == "2026-11-24 08:00"
    clock.set(release)
    booked = await _book(session, clock, patient, view.slots[0])
    assert booked.appointment.status == "confirmed"


async def test_release_rules_are_the_institutions_own(session, clock):
    clinic = await make_clinic(session, clock=clock)
    await set_rules(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        rules=replace(DEFAULTS, release_days_ahead=14, release_time=time(0, 0)),
    )
    view = await make_session(session, clinic, clock=clock, day=date(2026, 12, 7))
    patient = await make_patient(session, clock=clock)
    assert (await _book(session, clock, patient, view.slots[0])).queue_number == 1


async def test_a_slot_that_has_begun_is_refused(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    clock.set(view.slots[0].starts_at)
    with pytest.raises(Unprocessable) as refused:
        await _book(session, clock, patient, view.slots[0])
    assert refused.value.code == "booking.slot_in_past"
    await _book(session, clock, patient, view.slots[1])


async def test_a_stopped_session_is_refused(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    await stop_session(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        session_id=view.session.id,
    )
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, await make_patient(session, clock=clock), view.slots[0])
    assert refused.value.code == "booking.session_stopped"


async def test_one_booking_per_patient_per_doctor_per_day(session, clock):
    clinic = await make_clinic(session, clock=clock)
    morning = await make_session(session, clinic, clock=clock, day=DAY)
    afternoon = await make_session(
        session,
        clinic,
        clock=clock,
        day=DAY,
        half_day="afternoon",
        start_time=time(14, 0),
        end_time=time(15, 0),
    )
    patient = await make_patient(session, clock=clock)
    await _book(session, clock, patient, morning.slots[0])
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, patient, afternoon.slots[0])
    assert refused.value.code == "booking.doctor_day_limit"
    await set_rules(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        rules=replace(DEFAULTS, max_per_doctor_per_day=2),
    )
    await _book(session, clock, patient, afternoon.slots[0])


async def test_at_most_three_active_bookings_per_institution(session, clock):
    clinic = await make_clinic(session, clock=clock)
    days = [DAY + timedelta(days=n) for n in range(-3, 1)]  # all released
    views = [await make_session(session, clinic, clock=clock, day=day) for day in days]
    patient = await make_patient(session, clock=clock)
    booked = [await _book(session, clock, patient, view.slots[0]) for view in views[:3]]
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, patient, views[3].slots[0])
    assert refused.value.code == "booking.institution_limit"
    await cancel_appointment(
        session, booker(clock, patient), appointment_id=booked[0].appointment.id
    )
    await _book(session, clock, patient, views[3].slots[0])


async def test_childrens_department_takes_only_children_under_14(session, clock):
    clinic = await make_clinic(session, clock=clock, department="07")
    view = await make_session(session, clinic, clock=clock, day=DAY, department_code="07")
    adult = await make_patient(session, clock=clock, age=14)
    child = await make_patient(session, clock=clock, age=13)
    with pytest.raises(Unprocessable) as refused:
        await _book(session, clock, adult, view.slots[0])
    assert refused.value.code == "booking.children_only"
    await _book(session, clock, child, view.slots[0])


async def test_a_full_slot_is_refused_and_a_patient_holds_one_place_per_slot(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    first, second = (
        await make_patient(session, clock=clock),
        await make_patient(session, clock=clock),
    )
    await _book(session, clock, first, view.slots[0])
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, second, view.slots[0])
    assert refused.value.code == "booking.slot_full"


async def test_a_patient_already_in_the_slot_is_refused_and_the_place_given_back(session, clock):
    clinic = await make_clinic(session, clock=clock)
    await set_rules(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        rules=replace(DEFAULTS, max_per_doctor_per_day=2),
    )
    view = await make_session(session, clinic, clock=clock, day=DAY, capacity=12)
    patient, other = (
        await make_patient(session, clock=clock),
        await make_patient(session, clock=clock),
    )
    await _book(session, clock, patient, view.slots[0])
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, patient, view.slots[0])
    assert refused.value.code == "booking.already_booked"
    # the place taken for the refused booking is back, and the transaction goes on
    assert (await session.get(Slot, view.slots[0].id, populate_existing=True)).booked == 1
    assert (await _book(session, clock, other, view.slots[0])).slot.booked == 2


async def test_a_key_used_after_the_counts_were_read_answers_its_appointment(
    session, clock, monkeypatch
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY, capacity=12)
    patient = await make_patient(session, clock=clock)
    once = await _book(session, clock, patient, view.slots[0], key="same")
    counts = appointments.rule_counts

    async def counts_read_before_the_first_committed(*args, **kwargs):
        return replace(await counts(*args, **kwargs), replay_id=None, same_doctor=0)

    monkeypatch.setattr(appointments, "rule_counts", counts_read_before_the_first_committed)
    twice = await _book(session, clock, patient, view.slots[0], key="same")
    assert twice.replayed and twice.appointment.id == once.appointment.id
    assert (await session.get(Slot, view.slots[0].id, populate_existing=True)).booked == 1


async def test_a_stop_committed_after_the_session_was_read_is_seen_when_the_place_is_taken(
    session, clock, monkeypatch
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    check = appointments.check_rules

    async def rules_checked_as_the_session_stops(*args, **kwargs):
        await check(*args, **kwargs)
        await session.execute(
            update(ScheduleSession)
            .where(ScheduleSession.id == view.session.id)
            .values(status="stopped")
            .execution_options(synchronize_session=False)
        )

    monkeypatch.setattr(appointments, "check_rules", rules_checked_as_the_session_stops)
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, patient, view.slots[0])
    assert refused.value.code == "booking.session_stopped"
    assert (await session.get(Slot, view.slots[0].id, populate_existing=True)).booked == 0


async def test_cancelling_frees_the_place_until_the_cutoff_the_day_before(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    booked = await _book(session, clock, patient, view.slots[0])
    cutoff = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # 2026-11-29 18:00 in Shanghai
    clock.set(cutoff - timedelta(seconds=1))
    cancelled = await cancel_appointment(
        session, booker(clock, patient), appointment_id=booked.appointment.id
    )
    assert cancelled.appointment.status == "cancelled"
    assert cancelled.queue_number is None
    with pytest.raises(Conflict):
        await cancel_appointment(
            session, booker(clock, patient), appointment_id=booked.appointment.id
        )
    again = await _book(session, clock, patient, view.slots[0])
    clock.set(cutoff)
    with pytest.raises(Conflict) as refused:
        await cancel_appointment(
            session, booker(clock, patient), appointment_id=again.appointment.id
        )
    assert refused.value.fields["deadline"] == "2026-11-29 18:00"
    stranger = booker(FrozenClock(START), await make_patient(session, clock=clock))
    with pytest.raises(NotFound):
        await cancel_appointment(session, stranger, appointment_id=again.appointment.id)
