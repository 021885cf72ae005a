"""Vaccinations and check-ups on the booking engine: windows of explicit capacity, the resource's
own rules (one per 就诊人 and day, age and sex limits, withdrawn), and the engine's rules
unchanged for them: payment hold, cancellation, waitlist, check-in and no-shows."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order, OrderLine
from ihospital.booking.appointments import book_slot, list_appointments
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.dayof import check_in, record_missed_visit
from ihospital.booking.fairness.flags import PATIENTS_PER_DOCTOR, note_booking
from ihospital.booking.fairness.models import BookingFlag
from ihospital.booking.models import ScheduleSession, WaitlistEntry
from ihospital.booking.resources import update_resource
from ihospital.booking.schedules import stop_session
from ihospital.booking.waitlist import join_waitlist
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.models import Account
from ihospital.notifications.models import InboxMessage
from tests.billing.builders import reloaded, run_outbox
from tests.booking.builders import (
    CHECKUP,
    booker,
    make_clinic,
    make_resource,
    make_resource_session,
    make_session,
    new_key,
)
from tests.identity.builders import make_patient

DAY = date(2026, 11, 30)  # released: the clock stands at 2026-11-23 09:00 in Shanghai


async def _book(session, clock, patient, slot, key=None):
    return await book_slot(
        session,
        booker(clock, patient),
        slot_id=slot.id,
        patient_id=patient.id,
        idempotency_key=key or new_key(),
    )


async def test_a_vaccination_session_is_cut_into_windows_of_the_places_asked(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    assert [slot.capacity for slot in view.slots] == [20] * 7
    assert view.session.capacity == 140
    assert (view.session.practitioner_id, view.session.resource_id) == (None, resource.id)
    assert view.session.department_code == "03"
    audit = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "booking.sessions.create")
    )
    assert (audit.subject_type, audit.subject_id) == ("booking_resource", str(resource.id))


async def test_a_window_takes_its_places_then_is_full(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(
        session, clinic, resource, clock=clock, day=DAY, places_per_slot=2
    )
    first, second, third = [await make_patient(session, clock=clock) for _ in range(3)]
    booked = await _book(session, clock, first, view.slots[0])
    await _book(session, clock, second, view.slots[0])
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, third, view.slots[0])
    assert refused.value.code == "booking.slot_full"
    assert booked.appointment.status == "confirmed"
    assert (booked.appointment.resource_id, booked.appointment.practitioner_id) == (
        resource.id,
        None,
    )
    [mine] = await list_appointments(session, booker(clock, first))
    assert mine.resource.name == "HPV疫苗接种"
    assert mine.resource.preparation == "请携带身份证，接种后留观30分钟"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"places_per_slot": 0}, "places_per_slot"),
        ({"places_per_slot": 1001}, "places_per_slot"),
        ({"slot_minutes": 45}, "slot_minutes"),  # 210 minutes are not whole 45-minute windows
        ({"slot_minutes": 0}, "slot_minutes"),
    ],
)
async def test_windows_must_take_people_and_divide_the_hours(session, clock, changes, field):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    with pytest.raises(Unprocessable) as refused:
        await make_resource_session(session, clinic, resource, clock=clock, day=DAY, **changes)
    assert refused.value.fields["field"] == field
    assert await session.scalar(select(ScheduleSession.id)) is None


async def test_a_past_day_and_an_overlap_are_refused(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    with pytest.raises(Unprocessable) as refused:
        await make_resource_session(session, clinic, resource, clock=clock, day=date(2026, 11, 22))
    assert refused.value.code == "booking.invalid_day"
    await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    with pytest.raises(Conflict) as overlap:
        await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    assert overlap.value.code == "booking.session_overlap"
    other = await make_resource(session, clinic, clock=clock, name="流感疫苗接种")
    await make_resource_session(session, clinic, other, clock=clock, day=DAY)


async def test_another_institutions_resource_is_not_found(session, clock):
    ours, theirs = await make_clinic(session, clock=clock), await make_clinic(session, clock=clock)
    resource = await make_resource(session, theirs, clock=clock)
    with pytest.raises(NotFound):
        await make_resource_session(session, ours, resource, clock=clock, day=DAY)
    with pytest.raises(NotFound):
        await update_resource(
            session,
            ours.admin_actor(clock),
            institution_id=ours.institution.id,
            resource_id=resource.id,
            changes={"name": "改名"},
        )


async def test_a_withdrawn_resource_takes_no_sessions_or_bookings(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    await update_resource(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        resource_id=resource.id,
        changes={"is_active": False},
    )
    with pytest.raises(Conflict) as no_session:
        await make_resource_session(session, clinic, resource, clock=clock, day=DAY + timedelta(1))
    patient = await make_patient(session, clock=clock)
    with pytest.raises(Conflict) as no_booking:
        await _book(session, clock, patient, view.slots[0])
    assert no_session.value.code == no_booking.value.code == "booking.resource_inactive"


@pytest.mark.parametrize(("age", "eligible"), [(8, False), (9, True), (45, True), (46, False)])
async def test_the_age_limits_are_inclusive_and_a_refusal_names_them(session, clock, age, eligible):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock, age=age)
    if eligible:
        assert (await _book(session, clock, patient, view.slots[0])).appointment.id
        return
    with pytest.raises(Unprocessable) as refused:
        await _book(session, clock, patient, view.slots[0])
    assert refused.value.code == "booking.age_not_eligible"
    assert (refused.value.fields["min_age"], refused.value.fields["max_age"]) == (9, 45)
    assert refused.value.message == "This service is for people aged {min_age} to {max_age}."
    assert (await reloaded(session, type(view.slots[0]), view.slots[0].id)).booked == 0


async def test_a_one_sided_age_limit_names_its_side(session, clock):
    clinic = await make_clinic(session, clock=clock)
    children = await make_resource(
        session, clinic, clock=clock, name="儿童疫苗", min_age_years=None, max_age_years=6
    )
    view = await make_resource_session(session, clinic, children, clock=clock, day=DAY)
    with pytest.raises(Unprocessable) as refused:
        await _book(session, clock, await make_patient(session, clock=clock), view.slots[0])
    assert refused.value.message == "This service is for people aged {max_age} or younger."
    child = await make_patient(session, clock=clock, age=3)
    assert (await _book(session, clock, child, view.slots[0])).appointment.status == "confirmed"


async def test_a_women_only_package_refuses_men_and_holds_a_fee_for_payment(session, clock):
    clinic = await make_clinic(session, clock=clock)
    checkup = await make_resource(session, clinic, clock=clock, values=CHECKUP)
    view = await make_resource_session(session, clinic, checkup, clock=clock, day=DAY)
    man = await make_patient(session, clock=clock, sex="male")
    with pytest.raises(Unprocessable) as refused:
        await _book(session, clock, man, view.slots[0])
    assert refused.value.code == "booking.sex_not_eligible"
    assert refused.value.fields == {"sex": "female", "field": "patient_id"}
    woman = await make_patient(session, clock=clock, sex="female")
    held = (await _book(session, clock, woman, view.slots[0])).appointment
    assert held.status == "pending_payment"
    order = await session.get(Order, held.order_id)
    assert (order.total_fen, order.patient_id) == (38000, woman.id)
    assert held.hold_expires_at == clock.now() + timedelta(minutes=15)


async def test_one_active_booking_per_patient_resource_and_day(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    first = await _book(session, clock, patient, view.slots[0])
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, patient, view.slots[3])
    assert refused.value.code == "booking.resource_day_limit"
    # another resource and a doctor the same day are other limits
    flu = await make_resource(session, clinic, clock=clock, name="流感疫苗接种")
    flu_view = await make_resource_session(session, clinic, flu, clock=clock, day=DAY)
    await _book(session, clock, patient, flu_view.slots[0])
    doctor_view = await make_session(session, clinic, clock=clock, day=DAY)
    await _book(session, clock, patient, doctor_view.slots[0])
    await cancel_appointment(session, booker(clock, patient), appointment_id=first.appointment.id)
    again = await _book(session, clock, patient, view.slots[3])
    assert again.appointment.status == "confirmed"


async def test_the_same_idempotency_key_answers_the_same_window_booking(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    once = await _book(session, clock, patient, view.slots[0], key="same")
    twice = await _book(session, clock, patient, view.slots[0], key="same")
    assert once.appointment.id == twice.appointment.id and twice.slot.booked == 1


async def test_a_window_that_has_begun_is_refused(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    clock.set(view.slots[0].starts_at)
    with pytest.raises(Unprocessable) as refused:
        await _book(session, clock, await make_patient(session, clock=clock), view.slots[0])
    assert refused.value.code == "booking.slot_in_past"


async def test_a_cancelled_place_goes_to_the_waitlist(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(
        session, clinic, resource, clock=clock, day=DAY, slot_minutes=210, places_per_slot=1
    )
    holder, waiting = (
        await make_patient(session, clock=clock),
        await make_patient(session, clock=clock),
    )
    held = await _book(session, clock, holder, view.slots[0])
    entry = await join_waitlist(
        session,
        booker(clock, waiting),
        session_id=view.session.id,
        patient_id=waiting.id,
        slot_id=None,
    )
    await cancel_appointment(session, booker(clock, holder), appointment_id=held.appointment.id)
    entry = await reloaded(session, WaitlistEntry, entry.id)
    assert entry.status == "offered"
    [offered] = await list_appointments(session, booker(clock, waiting))
    assert offered.appointment.id == entry.appointment_id
    assert offered.appointment.resource_id == resource.id
    assert offered.appointment.status == "confirmed"


async def test_a_waitlisted_patient_no_longer_eligible_lapses(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(
        session, clinic, resource, clock=clock, day=DAY, slot_minutes=210, places_per_slot=1
    )
    holder, waiting = (
        await make_patient(session, clock=clock),
        await make_patient(session, clock=clock),
    )
    held = await _book(session, clock, holder, view.slots[0])
    entry = await join_waitlist(
        session,
        booker(clock, waiting),
        session_id=view.session.id,
        patient_id=waiting.id,
        slot_id=None,
    )
    await update_resource(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        resource_id=resource.id,
        changes={"max_age_years": 30},
    )
    await cancel_appointment(session, booker(clock, holder), appointment_id=held.appointment.id)
    await session.flush()
    assert (await reloaded(session, WaitlistEntry, entry.id)).status == "lapsed"


async def test_check_in_and_a_missed_visit_count_as_for_a_doctor(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    first, second = (
        await make_patient(session, clock=clock),
        await make_patient(session, clock=clock),
    )
    attended = (await _book(session, clock, first, view.slots[0])).appointment
    missed = (await _book(session, clock, second, view.slots[0])).appointment
    clock.set(view.slots[0].starts_at - timedelta(minutes=30))
    checked = await check_in(session, booker(clock, first), appointment_id=attended.id)
    assert (checked.status, checked.visit.queue_number) == ("checked_in", 1)
    clock.set(view.session.ends_at + timedelta(minutes=1))
    visit = await record_missed_visit(session, booker(clock, second), appointment_id=missed.id)
    assert visit.outcome == "no_show"


async def test_editing_keeps_the_rules_and_a_refused_edit_changes_nothing(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    admin = clinic.admin_actor(clock)
    for changes, field in (
        ({"min_age_years": 50}, "max_age_years"),  # above the highest age, 45
        ({"vaccine": " "}, "vaccine"),
        ({"department_code": "10"}, "department_code"),  # not run here
        ({"fee_fen": -1}, "fee_fen"),
        ({"max_age_years": 151}, "max_age_years"),
    ):
        with pytest.raises(Unprocessable) as refused:
            await update_resource(
                session,
                admin,
                institution_id=clinic.institution.id,
                resource_id=resource.id,
                changes=changes,
            )
        assert refused.value.fields["field"] == field
    stored = await reloaded(session, type(resource), resource.id)
    assert (stored.min_age_years, stored.vaccine, stored.department_code, stored.fee_fen) == (
        9,
        "九价HPV疫苗 第1剂",
        "03",
        0,
    )
    changed = await update_resource(
        session,
        admin,
        institution_id=clinic.institution.id,
        resource_id=resource.id,
        changes={"min_age_years": None, "preparation": "接种前请勿空腹"},
    )
    assert (changed.min_age_years, changed.preparation) == (None, "接种前请勿空腹")


async def test_stopping_a_session_tells_the_patient_without_naming_a_doctor(
    session, session_factory, clock
):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock, values=CHECKUP)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    woman = await make_patient(session, clock=clock, sex="female")
    booked = (await _book(session, clock, woman, view.slots[0])).appointment
    order = await session.get(Order, booked.order_id)
    [line] = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    assert line.description == "妇科体检套餐"  # the bill names what is paid for
    await stop_session(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        session_id=view.session.id,
    )
    await session.commit()
    await run_outbox(session_factory, clock, {})
    async with session_factory() as check:
        [message] = (
            await check.scalars(
                select(InboxMessage).where(InboxMessage.account_id == woman.account_id)
            )
        ).all()
    assert message.body == "The session at {time} was stopped; your appointment is cancelled."


async def test_a_family_booking_one_vaccination_raises_no_scalper_flag(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    first = await make_patient(session, clock=clock)
    account = await session.get(Account, first.account_id)
    family = [first] + [
        await make_patient(session, clock=clock, account=account, relationship="child", age=10)
        for _ in range(PATIENTS_PER_DOCTOR)
    ]
    for patient in family:
        booked = await _book(session, clock, patient, view.slots[0])
        await note_booking(session, booker(clock, patient), view=booked, device_hash="d")
    assert await session.scalar(select(BookingFlag.id)) is None
