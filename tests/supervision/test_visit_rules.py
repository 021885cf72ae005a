"""R05.1 (a doctor serving where they have no registered practice) and R02 (the diagnosis
changed but the visit went on online) fire on the consultation's events and stay silent when
the practice is registered, the visit was at a site in person, or it was referred offline."""

import json
from dataclasses import replace

from sqlalchemy import update

from ihospital.consultation.events import CLOSED, RECORD_SIGNED, SUBSCRIBERS
from ihospital.consultation.records.service import sign_record
from ihospital.consultation.workstation import close_consultation
from ihospital.core.context import Actor
from ihospital.directory.models import PracticeSite
from ihospital.directory.sites import SiteInput
from ihospital.prescribing.events import PUBLICATIONS as PRESCRIPTIONS
from ihospital.prescribing.service import SIGNED
from ihospital.supervision import visit_tasks
from tests.consultation.builders import doctor_actor, make_practice
from tests.directory.builders import make_doctor, make_institution
from tests.identity.builders import CIPHER, make_patient
from tests.prescribing.review_builders import make_pharmacy, run_worker
from tests.supervision.builders import alerts_of
from tests.supervision.reporting.test_documents import CONTENT


def test_the_visit_rules_subscribe_to_the_consultations_and_prescriptions():
    assert visit_tasks.prescribed_outside_practice_sites in PRESCRIPTIONS.subscribers[SIGNED]
    assert visit_tasks.closed_outside_practice_sites in SUBSCRIBERS[CLOSED]
    assert visit_tasks.closed_after_diagnosis_changed in SUBSCRIBERS[CLOSED]
    assert visit_tasks.amended_after_closing in SUBSCRIBERS[RECORD_SIGNED]


async def _visiting_doctor(session, clock, practice):
    """A doctor registered elsewhere with a filed site at the practice's institution, whose
    registered institution then withdrew its consent (after the doctor accepted a visit)."""
    home = await make_institution(session, clock=clock)
    visitor = await make_doctor(
        session,
        clock=clock,
        institution=home,
        name="华佗",
        sites=[SiteInput(practice.institution.id, "03.04", "京卫备2026-001", True)],
    )
    await session.execute(
        update(PracticeSite)
        .where(
            PracticeSite.practitioner_id == visitor.id,
            PracticeSite.institution_id == practice.institution.id,
        )
        .values(consent_on_file=False)
    )
    return visitor


def _closed(practice, patient, practitioner_id: int, *, reason: str = "doctor") -> dict:
    return {
        "consultation_id": 31,
        "institution_id": practice.institution.id,
        "patient_id": patient.id,
        "practitioner_id": practitioner_id,
        "reason": reason,
    }


async def test_a_visit_closed_where_the_doctor_has_no_registered_practice_opens_an_alert(
    session, clock
):
    practice = await make_practice(session, clock=clock)
    patient = await make_patient(session, clock=clock)
    visitor = await _visiting_doctor(session, clock, practice)
    await visit_tasks.closed_outside_practice_sites(
        session, Actor.system(clock), 1, _closed(practice, patient, visitor.id)
    )
    [alert] = await alerts_of(session, "R05.1")
    assert alert.subject == "consultation:31"
    assert json.loads(alert.details)["reasons"] == ["no_consent"]


async def test_a_registered_doctor_an_in_person_visit_or_an_idle_close_is_silent(session, clock):
    practice = await make_practice(session, clock=clock)
    patient = await make_patient(session, clock=clock)
    visitor = await _visiting_doctor(session, clock, practice)
    actor = Actor.system(clock)
    await visit_tasks.closed_outside_practice_sites(
        session, actor, 1, _closed(practice, patient, practice.doctor.id)
    )
    await visit_tasks.closed_outside_practice_sites(
        session, actor, 2, _closed(practice, patient, visitor.id, reason="inactivity")
    )
    in_person = {
        "consultation_id": None,
        "appointment_id": 5,
        "institution_id": practice.institution.id,
        "patient_id": patient.id,
        "prescriber_id": visitor.id,
    }
    await visit_tasks.prescribed_outside_practice_sites(session, actor, 3, in_person)
    assert await alerts_of(session, "R05.1") == []


async def _changed_diagnosis(session, clock, *, codes: tuple[str, ...]):
    """A diagnostic consultation whose record was signed with I10 and amended with ``codes``."""
    pharmacy = await make_pharmacy(session, clock)
    doctor = doctor_actor(clock, pharmacy.practice.doctor)
    first, _ = await sign_record(
        session, doctor, consultation_id=pharmacy.consultation.id, content=CONTENT, cipher=CIPHER
    )
    await sign_record(
        session,
        doctor,
        consultation_id=pharmacy.consultation.id,
        content=replace(CONTENT, diagnosis_codes=codes),
        cipher=CIPHER,
        amends=first.id,
    )
    return pharmacy, doctor


async def test_a_visit_closed_online_after_its_diagnosis_changed_opens_an_alert(
    app, session, session_factory, clock
):
    pharmacy, doctor = await _changed_diagnosis(session, clock, codes=("E11.9",))
    await close_consultation(
        session, doctor, consultation_id=pharmacy.consultation.id, advice="按时服药"
    )
    await session.commit()
    await run_worker(app, session_factory, clock)
    [alert] = await alerts_of(session, "R02")
    details = json.loads(alert.details)
    assert (details["first_diagnoses"], details["latest_diagnoses"]) == (["I10"], ["E11.9"])
    assert alert.subject == f"consultation:{pharmacy.consultation.id}"


async def test_a_visit_referred_offline_or_with_its_diagnosis_unchanged_is_silent(
    app, session, session_factory, clock
):
    changed, doctor = await _changed_diagnosis(session, clock, codes=("E11.9",))
    await close_consultation(
        session,
        doctor,
        consultation_id=changed.consultation.id,
        advice="病情变化，请线下就诊",
        visit_in_person=True,
    )
    same, other = await _changed_diagnosis(session, clock, codes=("I10",))
    await close_consultation(session, other, consultation_id=same.consultation.id, advice="复诊")
    await session.commit()
    await run_worker(app, session_factory, clock)
    assert await alerts_of(session, "R02") == []


async def test_a_record_amended_after_closing_with_another_diagnosis_opens_an_alert(
    app, session, session_factory, clock
):
    pharmacy = await make_pharmacy(session, clock)
    doctor = doctor_actor(clock, pharmacy.practice.doctor)
    first, _ = await sign_record(
        session, doctor, consultation_id=pharmacy.consultation.id, content=CONTENT, cipher=CIPHER
    )
    await close_consultation(
        session, doctor, consultation_id=pharmacy.consultation.id, advice="复诊"
    )
    await session.commit()
    await run_worker(app, session_factory, clock)
    assert await alerts_of(session, "R02") == []  # closed with its diagnosis unchanged
    await sign_record(
        session,
        doctor,
        consultation_id=pharmacy.consultation.id,
        content=replace(CONTENT, diagnosis_codes=("E11.9",)),
        cipher=CIPHER,
        amends=first.id,
    )
    await session.commit()
    await run_worker(app, session_factory, clock)
    [alert] = await alerts_of(session, "R02")
    assert json.loads(alert.details)["close_reason"] == "doctor"
