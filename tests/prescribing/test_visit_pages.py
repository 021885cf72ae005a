"""Prescribing from an in-person visit in the browser: the day list links 开处方 only for visits
open for it; the same form and live check as a consultation's sign a prescription for the visit
and go back to the day list; a visit not open for it shows its reason; another doctor finds
nothing; a child under 6 asks for the guardian's presence; a rejected one is revised; the printed
prescription and the verification page name the visit type (门诊)."""

from io import BytesIO

from pypdf import PdfReader
from sqlalchemy import select

from ihospital.prescribing.models import Prescription
from ihospital.prescribing.review import decide_prescription
from ihospital.prescribing.verification import verification_code
from tests.identity.builders import csrf_token, make_account
from tests.pharmacy.builders import pharmacist as pharmacist_actor
from tests.prescribing.builders import MORPHINE, form_row, make_drug, prescriptions_written
from tests.prescribing.visit_builders import arrive, book, on_duty, visit_session
from tests.web.builders import sign_in_as


async def _signed_in(session, client, clock, clinic) -> dict[str, str]:
    account = await on_duty(session, clock, clinic)
    await sign_in_as(session, client, account=account, clock=clock)
    return {"csrf_token": await csrf_token(client)}


def _url(booked) -> str:
    return f"/doctor/appointments/{booked.appointment.id}/prescription"


async def test_the_day_list_links_the_form_which_signs_for_the_visit(client, session, clock):
    clinic, day = await visit_session(session, clock)
    here = await book(session, clock, day.slots[0])
    waiting = await book(session, clock, day.slots[1])
    await arrive(session, clock, here)
    token = await _signed_in(session, client, clock, clinic)
    amlodipine = await make_drug(session, clock=clock)

    listed = await client.get("/doctor/day")
    assert listed.status_code == 200
    assert f'href="{_url(here)}"' in listed.text and "开处方" in listed.text
    assert f'href="{_url(waiting)}"' not in listed.text

    form = await client.get(_url(here), params={"drug_q": "bhs"})
    assert form.status_code == 200, form.text
    assert 'data-encounter="visit"' in form.text and "门诊" in form.text
    assert 'href="/doctor/day"' in form.text and "field-guardian_present" not in form.text
    assert f'name="add_drug" value="{amlodipine.id}"' in form.text

    live = await client.post(
        f"{_url(here)}/check", data={**token, "diagnoses": "I10", **form_row(amlodipine, dose="20")}
    )
    assert live.status_code == 200 and 'data-finding="rx.dose_unusual"' in live.text

    signed = await client.post(
        _url(here), data={**token, "diagnoses": "I10", **form_row(amlodipine), "action": "sign"}
    )
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/doctor/day"
    prescription = await session.scalar(select(Prescription))
    assert (prescription.appointment_id, prescription.consultation_id) == (
        here.appointment.id,
        None,
    )

    refused = await client.post(
        _url(waiting), data={**token, "diagnoses": "I10", **form_row(amlodipine), "action": "sign"}
    )
    assert refused.status_code == 409 and "尚未签到" in refused.text
    assert await prescriptions_written(session) == 1


async def test_a_refusal_keeps_the_form_and_writes_nothing(client, session, clock):
    clinic, day = await visit_session(session, clock)
    here = await book(session, clock, day.slots[0])
    await arrive(session, clock, here)
    token = await _signed_in(session, client, clock, clinic)
    morphine = await make_drug(session, clock=clock, **MORPHINE)
    answer = await client.post(
        _url(here),
        data={**token, "diagnoses": "I10", **form_row(morphine, dose="10"), "action": "sign"},
    )
    assert answer.status_code == 422 and 'data-finding="rx.special_class"' in answer.text
    assert 'name="items-1-dose"' in answer.text and 'value="10"' in answer.text
    assert await prescriptions_written(session) == 0


async def test_another_doctor_and_a_visit_not_open_find_no_form(client, session, clock):
    clinic, day = await visit_session(session, clock)
    waiting = await book(session, clock, day.slots[1])
    other, other_day = await visit_session(session, clock)
    theirs = await book(session, clock, other_day.slots[0])
    await arrive(session, clock, theirs)
    token = await _signed_in(session, client, clock, clinic)
    amlodipine = await make_drug(session, clock=clock)
    assert (await client.get(_url(theirs))).status_code == 404
    answer = await client.post(
        _url(theirs), data={**token, "diagnoses": "I10", **form_row(amlodipine), "action": "sign"}
    )
    assert answer.status_code == 404
    early = await client.get(_url(waiting), headers={"Accept": "text/html"})
    assert early.status_code == 409 and "尚未签到" in early.text
    assert await prescriptions_written(session) == 0


async def test_a_child_under_six_is_prescribed_for_with_the_guardian_present(
    client, session, clock
):
    clinic, day = await visit_session(session, clock)
    child = await book(session, clock, day.slots[0], age=4)
    await arrive(session, clock, child)
    token = await _signed_in(session, client, clock, clinic)
    drug = await make_drug(session, clock=clock)
    form = await client.get(_url(child))
    assert 'id="field-guardian_present"' in form.text and "监护人已陪同就诊" in form.text
    sent = {**token, "diagnoses": "I10", **form_row(drug, dose="2.5"), "action": "sign"}
    refused = await client.post(_url(child), data=sent)
    assert refused.status_code == 422 and 'data-finding="rx.guardian_required"' in refused.text
    assert await prescriptions_written(session) == 0
    signed = await client.post(_url(child), data={**sent, "guardian_present": "true"})
    assert signed.status_code == 303, signed.text
    assert await prescriptions_written(session) == 1


async def test_the_printed_and_verified_prescription_name_the_in_person_visit(
    client, session, clock
):
    clinic, day = await visit_session(session, clock)
    here = await book(session, clock, day.slots[0])
    await arrive(session, clock, here)
    token = await _signed_in(session, client, clock, clinic)
    drug = await make_drug(session, clock=clock)
    await client.post(
        _url(here), data={**token, "diagnoses": "I10", **form_row(drug), "action": "sign"}
    )
    prescription = await session.scalar(select(Prescription))

    printed = await client.get(f"/api/prescriptions/{prescription.id}/pdf")
    assert printed.status_code == 200, printed.text
    text = PdfReader(BytesIO(printed.content)).pages[0].extract_text()
    assert "就诊方式：门诊" in text

    page = await client.get(
        "/verify/prescription",
        params={"number": prescription.number, "code": verification_code(prescription)},
    )
    assert page.status_code == 200, page.text
    assert 'data-encounter="in_person">门诊' in page.text


async def test_a_rejected_visit_prescription_is_revised_from_the_form(client, session, clock):
    clinic, day = await visit_session(session, clock)
    here = await book(session, clock, day.slots[0])
    await arrive(session, clock, here)
    token = await _signed_in(session, client, clock, clinic)
    drug = await make_drug(session, clock=clock)
    sent = {**token, "diagnoses": "I10", **form_row(drug), "action": "sign"}
    await client.post(_url(here), data=sent)
    rejected = await session.scalar(select(Prescription))
    pharmacist = await make_account(
        session, role="pharmacist", institution_id=clinic.institution.id, clock=clock
    )
    reviewer = pharmacist_actor(clock, pharmacist.id, clinic.institution.id)
    await decide_prescription(
        session, reviewer, prescription_id=rejected.id, decision="reject", reasons=["I07"]
    )

    form = await client.get(_url(here), params={"revise": rejected.id})
    assert form.status_code == 200 and 'id="rx-revision"' in form.text
    assert f'name="items-1-drug_id" value="{drug.id}"' in form.text
    revised = await client.post(_url(here), data={**sent, "revise": str(rejected.id)})
    assert revised.status_code == 303, revised.text
    latest = await session.scalar(select(Prescription).order_by(Prescription.id.desc()))
    assert (latest.previous_version_id, latest.appointment_id) == (rejected.id, here.appointment.id)
