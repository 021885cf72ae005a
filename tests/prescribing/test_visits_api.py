"""Prescribing from an in-person visit (门诊) over HTTP: the visit's own doctor checks and signs
once the patient checked in; exactly one of consultation_id and appointment_id; another doctor
finds nothing; visits not open for prescribing are refused with their reason and nothing is
written; a child under 6 needs the guardian's presence confirmed (R11); the pharmacist reviews
it, the patient buys it, a rejected one is revised; the verification names the visit type."""

import json
from datetime import time, timedelta

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.dayof import mark_attendance
from ihospital.core.context import Actor
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from ihospital.notifications.service import INBOX_TOPIC
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.orders import place_order
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.review import REJECTED, decide_prescription
from ihospital.prescribing.tasks import tell_doctor
from tests.booking.builders import make_resource, make_resource_session
from tests.directory.builders import bearer
from tests.identity.builders import make_account
from tests.pharmacy.builders import pharmacist as pharmacist_actor
from tests.pharmacy.order_builders import make_pharmacy, stock
from tests.prescribing.builders import MORPHINE, item, make_drug
from tests.prescribing.visit_builders import (
    DAY,
    arrive,
    book,
    doctor_account,
    doctor_headers,
    doctor_of,
    shanghai,
    token_again,
    visit_body,
    visit_session,
)

WRITE = "/api/doctor/prescriptions"


async def _count(session) -> int:
    return await session.scalar(select(func.count()).select_from(Prescription))


async def _checked_in(session, clock, **booking):
    clinic, day = await visit_session(session, clock)
    booked = await book(session, clock, day.slots[0], **booking)
    await arrive(session, clock, booked)
    return clinic, day, booked, await doctor_headers(session, clock, clinic)


async def test_the_visits_doctor_checks_and_signs_once_the_patient_checked_in(
    client, session, clock
):
    clinic, _, booked, doctor = await _checked_in(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    draft = visit_body(booked.appointment.id, item(amlodipine))

    checked = await client.post(f"{WRITE}/check", json=draft, headers=doctor)
    assert checked.status_code == 200, checked.text
    assert checked.json()["refused"] is False and await _count(session) == 0

    signed = await client.post(WRITE, json=draft, headers=doctor)
    assert signed.status_code == 201, signed.text
    written = signed.json()
    assert (written["appointment_id"], written["consultation_id"]) == (booked.appointment.id, None)
    assert (written["status"], written["patient_id"]) == ("pending_review", booked.patient.id)
    assert written["prescriber_id"] == clinic.practitioner_id

    verified = await client.get(f"/api/prescriptions/{written['id']}/verification", headers=doctor)
    assert verified.status_code == 200, verified.text
    assert (verified.json()["valid"], verified.json()["encounter"]) == (True, "in_person")

    entries = (
        await session.execute(
            select(AuditEntry.action, AuditEntry.subject_type, AuditEntry.details).where(
                AuditEntry.patient_id == booked.patient.id,
                AuditEntry.action.like("prescribing.%"),
            )
        )
    ).all()
    assert ("prescribing.checked", "appointment") in {(a, s) for a, s, _ in entries}
    [signed_entry] = [
        json.loads(details) for action, _, details in entries if action.endswith("_signed")
    ]
    assert signed_entry["appointment_id"] == booked.appointment.id
    assert signed_entry["consultation_id"] is None


async def test_both_or_neither_encounter_is_a_clear_422(client, session, clock):
    _, _, booked, doctor = await _checked_in(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    both = visit_body(booked.appointment.id, item(amlodipine), consultation_id=1)
    neither = {"diagnoses": ["I10"], "items": [item(amlodipine)]}
    for path in (WRITE, f"{WRITE}/check"):
        for sent in (both, neither):
            answer = await client.post(path, json=sent, headers=doctor)
            assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM_JSON
            assert "consultation_id" in answer.text and "appointment_id" in answer.text
            assert "只填写一项" in answer.text
    assert await _count(session) == 0


async def test_another_doctor_finds_nothing(client, session, clock):
    _, _, booked, _ = await _checked_in(session, clock)
    other, _ = await visit_session(session, clock)
    stranger = await doctor_headers(session, clock, other)
    amlodipine = await make_drug(session, clock=clock)
    draft = visit_body(booked.appointment.id, item(amlodipine))
    for path in (WRITE, f"{WRITE}/check"):
        answer = await client.post(path, json=draft, headers=stranger)
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "booking.appointment_not_found"
    assert await _count(session) == 0


async def _refused(client, doctor, appointment_id, drug, code):
    answer = await client.post(WRITE, json=visit_body(appointment_id, item(drug)), headers=doctor)
    assert answer.status_code in (404, 409), answer.text
    assert answer.json()["code"] == code, answer.text
    return answer


async def test_visits_not_open_for_prescribing_are_refused_and_nothing_is_written(
    client, session, clock
):
    clinic, day = await visit_session(session, clock)
    online_clinic, online_day = await visit_session(session, clock, visit_type="online")
    resource = await make_resource(session, clinic, clock=clock)
    windows = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    here = await book(session, clock, day.slots[0])
    waiting = await book(session, clock, day.slots[1])
    absent = await book(session, clock, day.slots[2])
    cancelled = await book(session, clock, day.slots[3])
    online = await book(session, clock, online_day.slots[0])
    vaccination = await book(session, clock, windows.slots[0], age=30)
    await cancel_appointment(session, cancelled.booker, appointment_id=cancelled.appointment.id)
    await arrive(session, clock, here)
    await arrive(session, clock, online)
    doctor = await doctor_headers(session, clock, clinic)
    online_doctor = await doctor_headers(session, clock, online_clinic)
    drug = await make_drug(session, clock=clock)

    await _refused(client, doctor, waiting.appointment.id, drug, "prescribing.visit_not_checked_in")
    await _refused(client, doctor, cancelled.appointment.id, drug, "prescribing.visit_cancelled")
    await _refused(client, online_doctor, online.appointment.id, drug, "prescribing.visit_online")
    await _refused(
        client, doctor, vaccination.appointment.id, drug, "booking.appointment_not_found"
    )
    clock.set(shanghai(DAY, time(9, 40)))
    account = await doctor_account(session, clinic)
    actor = doctor_of(clinic, account, clock)
    await mark_attendance(session, actor, appointment_id=absent.appointment.id, outcome="no_show")
    doctor = await token_again(session, clock, clinic)
    no_show = await _refused(
        client, doctor, absent.appointment.id, drug, "prescribing.visit_no_show"
    )
    assert "爽约" in no_show.json()["detail"]

    clock.set(shanghai(DAY + timedelta(days=1), time(8, 0)))  # checked in, never marked
    doctor = await token_again(session, clock, clinic)
    late = await _refused(
        client, doctor, here.appointment.id, drug, "prescribing.visit_window_closed"
    )
    assert late.json()["hours"] == 24
    assert await _count(session) == 0


async def test_attended_visits_stay_open_for_24_hours_after_the_mark(client, session, clock):
    clinic, _, booked, doctor = await _checked_in(session, clock)
    account = await doctor_account(session, clinic)
    clock.set(shanghai(DAY, time(21, 0)))
    await mark_attendance(
        session,
        doctor_of(clinic, account, clock),
        appointment_id=booked.appointment.id,
        outcome="attended",
    )
    drug = await make_drug(session, clock=clock)
    draft = visit_body(booked.appointment.id, item(drug))
    clock.advance(timedelta(hours=24, seconds=1))
    doctor = await token_again(session, clock, clinic)
    await _refused(client, doctor, booked.appointment.id, drug, "prescribing.visit_window_closed")
    clock.advance(timedelta(seconds=-2))
    signed = await client.post(WRITE, json=draft, headers=doctor)
    assert signed.status_code == 201, signed.text


async def test_a_child_under_six_needs_the_guardian_present_confirmed(client, session, clock):
    _, _, booked, doctor = await _checked_in(session, clock, age=4)
    drug = await make_drug(session, clock=clock)
    draft = visit_body(booked.appointment.id, item(drug, dose="2.5"))
    refused = await client.post(WRITE, json=draft, headers=doctor)
    assert refused.status_code == 422, refused.text
    assert {f["code"] for f in refused.json()["findings"]} == {"rx.guardian_required"}
    assert await _count(session) == 0

    signed = await client.post(WRITE, json=draft | {"guardian_present": True}, headers=doctor)
    assert signed.status_code == 201, signed.text
    details = json.loads(
        await session.scalar(
            select(AuditEntry.details).where(
                AuditEntry.action == "prescribing.prescription_signed",
                AuditEntry.subject_id == str(signed.json()["id"]),
            )
        )
    )
    assert details["guardian_present"] is True


async def test_special_drugs_stay_refused_in_person(client, session, clock):
    _, _, booked, doctor = await _checked_in(session, clock)
    morphine = await make_drug(session, clock=clock, **MORPHINE)
    answer = await client.post(
        WRITE, json=visit_body(booked.appointment.id, item(morphine)), headers=doctor
    )
    assert answer.status_code == 422
    assert {f["code"] for f in answer.json()["findings"]} == {"rx.special_class"}
    assert await _count(session) == 0


async def test_reviewed_then_bought_or_revised_after_rejection(client, session, clock):
    clinic, day, first, doctor = await _checked_in(session, clock)
    account = await doctor_account(session, clinic)
    second = await book(session, clock, day.slots[1])
    await arrive(session, clock, second)
    drug = await make_drug(session, clock=clock)
    pharmacist = await make_account(
        session, role="pharmacist", institution_id=clinic.institution.id, clock=clock
    )
    reviewer = pharmacist_actor(clock, pharmacist.id, clinic.institution.id)
    written = [
        (
            await client.post(WRITE, json=visit_body(b.appointment.id, item(drug)), headers=doctor)
        ).json()["id"]
        for b in (first, second)
    ]

    await decide_prescription(session, reviewer, prescription_id=written[0], decision="approve")
    patient = await bearer(
        session, clock=clock, account=await session.get(Account, first.patient.account_id)
    )
    mine = await client.get(f"/api/prescriptions/{written[0]}", headers=patient)
    assert mine.status_code == 200, mine.text
    pharmacy = await make_pharmacy(session, clock=clock, institution_id=clinic.institution.id)
    await stock(session, clock=clock, pharmacy=pharmacy, drug=drug)
    order = await place_order(
        session,
        first.booker,
        prescription_id=written[0],
        pharmacy_id=pharmacy.id,
        fulfilment="pickup",
        risk_notice_confirmed=True,
    )
    assert (order.prescription_id, order.status) == (written[0], "created")

    await decide_prescription(
        session, reviewer, prescription_id=written[1], decision="reject", reasons=["I07"]
    )
    event = await session.scalar(select(OutboxEvent).where(OutboxEvent.topic == REJECTED))
    await tell_doctor(session, Actor.system(clock), event.id, json.loads(event.payload))
    inbox = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.topic == INBOX_TOPIC).order_by(OutboxEvent.id.desc())
    )
    told = json.loads(inbox.payload)
    assert told["account_id"] == account.id
    assert (
        told["link"]
        == f"/doctor/appointments/{second.appointment.id}/prescription?revise={written[1]}"
    )
    revised = await client.post(
        f"{WRITE}/{written[1]}/revisions",
        json={"diagnoses": ["I10"], "items": [item(drug, days=5)]},
        headers=doctor,
    )
    assert revised.status_code == 201, revised.text
    assert revised.json()["appointment_id"] == second.appointment.id
    assert (revised.json()["version"], revised.json()["previous_version_id"]) == (2, written[1])
