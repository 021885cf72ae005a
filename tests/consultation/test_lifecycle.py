"""The consultation lifecycle through its services: start (fee from the price list), pay, accept,
confirm the earlier diagnosis, transfer, close, cancel; the rules R01, R03, R05 and R11; every
transition audited and published."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order, OrderLine
from ihospital.consultation.lifecycle import (
    cancel_consultation,
    confirm_guardian,
    start_consultation,
)
from ihospital.consultation.models import Consultation
from ihospital.consultation.workstation import (
    accept_consultation,
    close_consultation,
    confirm_prior_diagnosis,
    doctor_queue,
    transfer_consultation,
)
from ihospital.errors import Conflict, NotFound, RuleViolation, Unprocessable
from ihospital.outbox.models import OutboxEvent
from tests.billing.builders import pay_bill, reloaded, run_outbox, sandbox
from tests.booking.builders import booker
from tests.consultation.builders import PRIOR, doctor_actor, make_practice, start
from tests.directory.builders import make_doctor
from tests.identity.builders import CIPHER, make_id_number, make_patient

GUARDIAN_ID = make_id_number(birth_date=date(1990, 3, 1))


async def _topics(session, consultation_id):
    events = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic.like("consultation.%")).order_by(OutboxEvent.id)
    )
    return [
        e.topic
        for e in events
        if f'"consultation_id": {consultation_id},' in e.payload
        and e.topic not in ("consultation.accept_deadline", "consultation.inactivity_check")
    ]


async def _waiting(session, clock, *, fee_fen=0, prior=None, **patient):
    practice = await make_practice(session, clock=clock, fee_fen=fee_fen)
    person = await make_patient(session, clock=clock, **patient)
    consultation = await start(session, clock, practice, person, prior=prior)
    return practice, person, consultation


async def test_a_fee_bills_the_consultation_and_it_awaits_payment(session, clock):
    practice, person, consultation = await _waiting(session, clock, fee_fen=3000)
    assert (consultation.status, consultation.fee_fen) == ("awaiting_payment", 3000)
    order = await session.get(Order, consultation.order_id)
    [line] = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    assert (line.kind, line.subject_type, line.subject_id, line.unit_price_fen) == (
        "consultation",
        "consultation",
        str(consultation.id),
        3000,
    )
    assert (order.patient_id, order.institution_id) == (person.id, practice.institution.id)


async def test_paying_puts_the_consultation_in_the_doctors_queue(session, session_factory, clock):
    practice, _, consultation = await _waiting(session, clock, fee_fen=3000)
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, consultation.order_id))
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    paid = await reloaded(session, Consultation, consultation.id)
    assert paid.status == "waiting"
    assert paid.accept_by == paid.waiting_since + timedelta(hours=24)
    queue = await doctor_queue(session, doctor_actor(clock, practice.doctor))
    assert [c.id for c in queue] == [consultation.id]


async def test_a_free_consultation_waits_at_once_and_goes_to_closed(session, clock):
    practice, _, consultation = await _waiting(session, clock)
    assert consultation.status == "waiting" and consultation.order_id is None
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    assert consultation.status == "in_progress"
    await close_consultation(session, doctor, consultation_id=consultation.id, advice="低盐饮食")
    assert (consultation.status, consultation.close_reason, consultation.advice) == (
        "closed",
        "doctor",
        "低盐饮食",
    )
    assert await _topics(session, consultation.id) == [
        "consultation.started",
        "consultation.accepted",
        "consultation.closed",
    ]
    actions = await session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.subject_type == "consultation",
            AuditEntry.subject_id == str(consultation.id),
        )
    )
    assert list(actions) == ["consultation.started", "consultation.accepted", "consultation.closed"]


async def test_the_queue_is_ordered_by_wait_and_filtered_by_type(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    first = await start(session, clock, practice, await make_patient(session, clock=clock))
    clock.advance(timedelta(minutes=5))
    video = await start(
        session,
        clock,
        practice,
        await make_patient(session, clock=clock),
        consultation_type="video",
    )
    clock.advance(timedelta(minutes=5))
    last = await start(session, clock, practice, await make_patient(session, clock=clock))
    doctor = doctor_actor(clock, practice.doctor)
    assert [c.id for c in await doctor_queue(session, doctor)] == [first.id, video.id, last.id]
    only_video = await doctor_queue(session, doctor, consultation_type="video")
    assert [c.id for c in only_video] == [video.id]
    colleague = doctor_actor(clock, practice.colleague)
    assert list(await doctor_queue(session, colleague)) == []


async def test_without_an_earlier_diagnosis_it_is_a_health_consultation(session, clock):
    practice, _, consultation = await _waiting(session, clock)
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    with pytest.raises(Conflict) as refused:
        await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    assert refused.value.code == "consultation.no_prior_diagnosis"


async def test_a_confirmed_earlier_diagnosis_makes_it_diagnostic_and_needs_a_record(session, clock):
    practice, _, consultation = await _waiting(session, clock, prior=PRIOR)
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    assert consultation.prior_confirmed_at == clock.now()
    with pytest.raises(Conflict) as refused:
        await close_consultation(
            session, doctor, consultation_id=consultation.id, advice="按时服药"
        )
    assert (refused.value.code, refused.value.status) == ("consultation.record_required", 409)
    assert consultation.status == "in_progress"
    # ending with advice to be seen in person (R02) needs no record
    await close_consultation(
        session, doctor, consultation_id=consultation.id, advice="请线下复查", visit_in_person=True
    )
    assert (consultation.status, consultation.close_reason) == ("closed", "in_person")


async def test_an_unverified_patient_cannot_have_a_diagnostic_consultation(session, clock):
    practice, _, consultation = await _waiting(session, clock, prior=PRIOR, realname="failed")
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    with pytest.raises(RuleViolation) as refused:
        await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    assert refused.value.code == "rule.R03"
    assert consultation.prior_confirmed_at is None


async def test_a_child_under_6_needs_the_guardian_confirmed_before_acceptance(session, clock):
    practice, person, consultation = await _waiting(session, clock, age=4, relationship="child")
    assert consultation.guardian_required
    doctor = doctor_actor(clock, practice.doctor)
    with pytest.raises(RuleViolation) as refused:
        await accept_consultation(session, doctor, consultation_id=consultation.id)
    assert refused.value.code == "rule.R11"
    await confirm_guardian(
        session,
        booker(clock, person),
        consultation_id=consultation.id,
        guardian_name="王大明",
        relationship="parent",
        id_number=GUARDIAN_ID,
        cipher=CIPHER,
    )
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    assert consultation.status == "in_progress"


async def test_an_adult_needs_no_guardian(session, clock):
    _, person, consultation = await _waiting(session, clock, age=30)
    with pytest.raises(Conflict) as refused:
        await confirm_guardian(
            session,
            booker(clock, person),
            consultation_id=consultation.id,
            guardian_name="王大明",
            relationship="parent",
            id_number=GUARDIAN_ID,
            cipher=CIPHER,
        )
    assert refused.value.code == "consultation.guardian_not_required"


async def test_a_doctor_transfers_to_an_eligible_colleague(session, clock):
    practice, person, consultation = await _waiting(session, clock, prior=PRIOR)
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    clock.advance(timedelta(hours=1))
    await transfer_consultation(
        session, doctor, consultation_id=consultation.id, practitioner_id=practice.colleague.id
    )
    # the patient was seen: it stays in progress with the colleague, and cannot be cancelled
    assert (consultation.status, consultation.practitioner_id) == (
        "in_progress",
        practice.colleague.id,
    )
    assert consultation.prior_confirmed_at is None  # the new doctor confirms it themselves
    assert consultation.last_activity_at == clock.now()
    with pytest.raises(NotFound):
        await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    with pytest.raises(Conflict) as refused:
        await cancel_consultation(session, booker(clock, person), consultation_id=consultation.id)
    assert refused.value.code == "consultation.not_cancellable"
    colleague = doctor_actor(clock, practice.colleague)
    await confirm_prior_diagnosis(session, colleague, consultation_id=consultation.id)
    assert "consultation.transferred" in await _topics(session, consultation.id)


async def test_a_waiting_consultation_transferred_waits_for_the_colleague(session, clock):
    practice, _, consultation = await _waiting(session, clock)
    clock.advance(timedelta(hours=1))
    await transfer_consultation(
        session,
        doctor_actor(clock, practice.doctor),
        consultation_id=consultation.id,
        practitioner_id=practice.colleague.id,
    )
    assert (consultation.status, consultation.accept_by) == (
        "waiting",
        clock.now() + timedelta(hours=24),
    )
    colleague = doctor_actor(clock, practice.colleague)
    await accept_consultation(session, colleague, consultation_id=consultation.id)


async def test_a_transfer_to_an_unverified_or_outside_doctor_is_refused(session, clock):
    practice, _, consultation = await _waiting(session, clock)
    doctor = doctor_actor(clock, practice.doctor)
    pending = await make_doctor(
        session, clock=clock, institution=practice.institution, status="pending"
    )
    with pytest.raises(RuleViolation) as refused:
        await transfer_consultation(
            session, doctor, consultation_id=consultation.id, practitioner_id=pending.id
        )
    assert refused.value.fields["reasons"] == ["not_verified"]
    with pytest.raises(Unprocessable):
        await transfer_consultation(
            session, doctor, consultation_id=consultation.id, practitioner_id=practice.doctor.id
        )
    assert consultation.practitioner_id == practice.doctor.id


async def test_only_the_assigned_doctor_may_accept(session, clock):
    practice, _, consultation = await _waiting(session, clock)
    with pytest.raises(NotFound):
        await accept_consultation(
            session, doctor_actor(clock, practice.colleague), consultation_id=consultation.id
        )
    assert consultation.status == "waiting"


async def test_an_unverified_doctor_cannot_be_chosen(session, clock):
    practice = await make_practice(session, clock=clock)
    pending = await make_doctor(
        session, clock=clock, institution=practice.institution, status="pending"
    )
    person = await make_patient(session, clock=clock)
    with pytest.raises(RuleViolation) as refused:
        await start_consultation(
            session,
            booker(clock, person),
            patient_id=person.id,
            practitioner_id=pending.id,
            institution_id=practice.institution.id,
            consultation_type="text",
            complaint="咳嗽",
        )
    assert refused.value.code == "rule.R05"


async def test_a_second_open_consultation_with_the_same_doctor_is_refused(session, clock):
    practice, person, _ = await _waiting(session, clock)
    with pytest.raises(Conflict) as refused:
        await start(session, clock, practice, person)
    assert refused.value.code == "consultation.already_open"


async def test_the_patient_cancels_only_before_it_begins(session, clock):
    practice, person, consultation = await _waiting(session, clock)
    await cancel_consultation(session, booker(clock, person), consultation_id=consultation.id)
    assert (consultation.status, consultation.cancel_reason) == ("cancelled", "patient")
    again = await start(session, clock, practice, person)
    await accept_consultation(
        session, doctor_actor(clock, practice.doctor), consultation_id=again.id
    )
    with pytest.raises(Conflict) as refused:
        await cancel_consultation(session, booker(clock, person), consultation_id=again.id)
    assert refused.value.code == "consultation.not_cancellable"
