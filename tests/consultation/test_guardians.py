"""A child under 6 online (R11): the guardian's identity (name, relationship, ID number with its
check digit; an adult; stored encrypted, shown masked) and an accompanying doctor of paediatrics
(the consulting doctor when paediatric, else a named colleague) before the doctor diagnoses."""

from datetime import date

import pytest

from ihospital.consultation.guardians import GUARDIAN_ID_PURPOSE
from ihospital.consultation.lifecycle import confirm_guardian
from ihospital.consultation.workstation import (
    accept_consultation,
    confirm_prior_diagnosis,
    name_accompanying_doctor,
)
from ihospital.errors import RuleViolation, Unprocessable
from tests.booking.builders import booker
from tests.consultation.builders import PRIOR, doctor_actor, make_practice, on_duty, price_all
from tests.consultation.builders import start as start_with
from tests.consultation.chat_builders import headers_of
from tests.directory.builders import make_doctor
from tests.identity.builders import CIPHER, make_id_number, make_patient

GUARDIAN_ID = make_id_number(birth_date=date(1990, 3, 1))


async def _child(session, clock, practice):
    child = await make_patient(session, clock=clock, age=4, relationship="child")
    consultation = await start_with(session, clock, practice, child, prior=PRIOR)
    return child, consultation


async def _confirm(session, clock, child, consultation, **changes):
    fields = {"guardian_name": "王大明", "relationship": "parent", "id_number": GUARDIAN_ID}
    await confirm_guardian(
        session,
        booker(clock, child),
        consultation_id=consultation.id,
        cipher=CIPHER,
        **{**fields, **changes},
    )


async def _paediatrician(session, clock, practice):
    view = await make_doctor(
        session, clock=clock, institution=practice.institution, name="钱乙", department="07"
    )
    await price_all(session, clock, view, fee_fen=0)
    await on_duty(session, clock, view)
    return view


@pytest.mark.parametrize(
    ("id_number", "code"),
    [
        (GUARDIAN_ID[:-1] + ("0" if GUARDIAN_ID[-1] != "0" else "1"), "guardian_id_number_invalid"),
        ("12345", "guardian_id_number_invalid"),
        (make_id_number(birth_date=date(2015, 1, 1)), "guardian_not_adult"),
    ],
    ids=["check_digit", "length", "minor"],
)
async def test_the_guardians_id_number_is_validated(session, clock, id_number, code):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    child, consultation = await _child(session, clock, practice)
    with pytest.raises(Unprocessable) as refused:
        await _confirm(session, clock, child, consultation, id_number=id_number)
    assert refused.value.code == f"consultation.{code}"
    assert refused.value.fields["field"] == "guardian_id_number"
    assert consultation.guardian_confirmed_at is None


async def test_the_id_number_is_kept_encrypted_and_shown_masked(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    child, consultation = await _child(session, clock, practice)
    await _confirm(session, clock, child, consultation)
    masked = GUARDIAN_ID[:4] + "*" * 10 + GUARDIAN_ID[-4:]
    assert consultation.guardian_id_number_masked == masked
    stored = consultation.guardian_id_number_cipher
    assert GUARDIAN_ID not in stored
    assert CIPHER.decrypt(stored, purpose=GUARDIAN_ID_PURPOSE) == GUARDIAN_ID


async def test_a_doctor_who_is_not_paediatric_names_a_paediatric_colleague(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    child, consultation = await _child(session, clock, practice)
    await _confirm(session, clock, child, consultation)
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    assert consultation.accompanying_practitioner_id is None
    with pytest.raises(RuleViolation) as refused:
        await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    assert refused.value.code == "rule.R11"
    with pytest.raises(Unprocessable) as not_paediatric:
        await name_accompanying_doctor(
            session,
            doctor,
            consultation_id=consultation.id,
            practitioner_id=practice.colleague.id,
        )
    assert not_paediatric.value.code == "consultation.not_paediatric"
    paediatrician = await _paediatrician(session, clock, practice)
    await name_accompanying_doctor(
        session, doctor, consultation_id=consultation.id, practitioner_id=paediatrician.id
    )
    await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    assert consultation.accompanying_practitioner_id == paediatrician.id
    assert consultation.prior_confirmed_at is not None


async def test_a_paediatrician_accompanies_their_own_consultation(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    paediatrician = await _paediatrician(session, clock, practice)
    practice.doctor = paediatrician
    child, consultation = await _child(session, clock, practice)
    await _confirm(session, clock, child, consultation)
    doctor = doctor_actor(clock, paediatrician)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    assert consultation.accompanying_practitioner_id == paediatrician.id
    await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)


async def test_the_api_takes_the_identity_and_the_accompanying_doctor(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    child, consultation = await _child(session, clock, practice)
    patient = await headers_of(session, clock, child.account_id)
    bad = await client.post(
        f"/api/consultations/{consultation.id}/guardian",
        json={"guardian_name": "王大明", "relationship": "parent", "id_number": "12345"},
        headers=patient,
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "guardian_id_number")
    confirmed = await client.post(
        f"/api/consultations/{consultation.id}/guardian",
        json={"guardian_name": "王大明", "relationship": "parent", "id_number": GUARDIAN_ID},
        headers=patient,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["guardian_id_number_masked"].count("*") == 10
    assert GUARDIAN_ID not in confirmed.text
    doctor = await headers_of(session, clock, practice.doctor.account_id)
    path = f"/api/doctor/consultations/{consultation.id}"
    assert (await client.post(f"{path}/accept", headers=doctor)).status_code == 200
    paediatrician = await _paediatrician(session, clock, practice)
    stranger = await headers_of(session, clock, practice.colleague.account_id)
    body = {"practitioner_id": paediatrician.id}
    other = await client.post(f"{path}/accompanying-doctor", json=body, headers=stranger)
    assert other.status_code == 404
    named = await client.post(f"{path}/accompanying-doctor", json=body, headers=doctor)
    assert named.status_code == 200, named.text
    assert named.json()["accompanying_practitioner_id"] == paediatrician.id
