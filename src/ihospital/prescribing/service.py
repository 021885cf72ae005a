"""Writing, signing, revising and voiding prescriptions (电子处方) by the treating doctor.

Only the doctor of a diagnostic follow-up consultation (R01) or of an in-person visit prescribes,
in their verified working session (R04), while the encounter is open for it
(:mod:`ihospital.prescribing.encounters`, :mod:`ihospital.prescribing.visits`). Every item is
typed by the doctor (origin ``entered``, R07); the safety checks of
:mod:`ihospital.prescribing.checks` run while writing and again on submit, where a blocking
finding or a warning without its reason refuses the whole prescription and nothing is written.
The doctor's Ed25519 signature covers :func:`~ihospital.prescribing.documents.signed_content`
(R06); the prescription then waits for the pharmacist (``pending_review``). A rejected
prescription is revised as a new version; one still waiting may be voided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.duty import require_work_session
from ihospital.consultation.records.diagnoses import Diagnosis, checked_diagnoses
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.errors import Conflict, Unprocessable
from ihospital.identity.patients import birth_date_of
from ihospital.outbox.service import emit
from ihospital.prescribing.ages import prescription_age
from ihospital.prescribing.allergies import patient_allergies
from ihospital.prescribing.check_errors import ChecksFailed
from ihospital.prescribing.checks import (
    Draft,
    Finding,
    ItemDraft,
    Patient,
    check,
    quantity_of,
)
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.encounters import (
    CONSULTATION,
    VISIT,
    Encounter,
    consultation_encounter,
)
from ihospital.prescribing.models import Drug, DrugInteraction, Prescription, PrescriptionItem
from ihospital.prescribing.repository import prescription_not_found
from ihospital.prescribing.schemas import PrescriptionCreate, PrescriptionDraft
from ihospital.prescribing.visits import visit_encounter
from ihospital.security.crypto import FieldCipher
from ihospital.security.signing import canonical_json, sha256_hex, sign

SIGNED = "prescribing.prescription_signed"
SUBJECT_TYPES = {CONSULTATION: "consultation", VISIT: "appointment"}
VOIDED = "prescribing.prescription_voided"
NUMBER_ATTEMPTS = 5
DRUG_UNKNOWN_MESSAGE = "Drug {drug_id} is not in the catalogue."


@dataclass(frozen=True)
class Checked:
    """A draft with its drugs and every finding of the checks."""

    encounter: Encounter
    draft: Draft
    drugs: Mapping[int, Drug]
    findings: list[Finding]

    @property
    def refused(self) -> bool:
        return any(finding.refuses for finding in self.findings)


async def encounter_of(session: AsyncSession, actor: Actor, body: PrescriptionCreate) -> Encounter:
    """The consultation or in-person visit ``body`` names, open for the doctor to prescribe."""
    if body.appointment_id is not None:
        return await visit_encounter(
            session,
            actor,
            appointment_id=body.appointment_id,
            guardian_present=body.guardian_present,
        )
    assert body.consultation_id is not None  # exactly one of them (PrescriptionCreate)
    return await consultation_encounter(session, actor, body.consultation_id)


async def _drugs(session: AsyncSession, body: PrescriptionCreate) -> dict[int, Drug]:
    wanted = {item.drug_id for item in body.items}
    rows = await session.scalars(select(Drug).where(Drug.id.in_(wanted), Drug.active.is_(True)))
    drugs = {drug.id: drug for drug in rows}
    for position, item in enumerate(body.items, start=1):
        if item.drug_id not in drugs:
            raise Unprocessable(
                "prescribing.drug_unknown",
                DRUG_UNKNOWN_MESSAGE,
                field=f"items.{position}.drug_id",
                drug_id=item.drug_id,
            )
    return drugs


async def _interactions(session: AsyncSession, drugs: Sequence[Drug]) -> Sequence[DrugInteraction]:
    """The curated rows that may concern these drugs (by ingredient or any ATC prefix)."""
    if len(drugs) < 2:
        return []
    ingredients = {drug.ingredient for drug in drugs}
    prefixes = {drug.atc_code[:n] for drug in drugs for n in range(1, len(drug.atc_code) + 1)}
    codes = ingredients | prefixes
    return (
        await session.scalars(
            select(DrugInteraction).where(
                or_(DrugInteraction.first_code.in_(codes), DrugInteraction.second_code.in_(codes))
            )
        )
    ).all()


async def checked_draft(
    session: AsyncSession, actor: Actor, encounter: Encounter, body: PrescriptionCreate
) -> Checked:
    drugs = await _drugs(session, body)
    draft = Draft(
        items=[
            ItemDraft(
                drug=drugs[item.drug_id],
                dose=item.dose,
                dose_unit=item.dose_unit,
                frequency=item.frequency,
                route=item.route,
                days=item.days,
                quantity=item.quantity,
                override_reason=item.override_reason,
            )
            for item in body.items
        ],
        emergency=body.emergency,
        long_term=body.long_term,
        chronic=body.chronic,
        supply_reason=body.supply_reason,
        validity_days=body.validity_days,
        validity_reason=body.validity_reason,
    )
    allergies = await patient_allergies(session, encounter.patient_id)
    patient = Patient(
        age=encounter.patient_age,
        guardian_required=encounter.guardian_required,
        guardian_confirmed=encounter.guardian_confirmed,
        allergies=allergies.recorded,
        allergy_text=allergies.record_text,
    )
    interactions = await _interactions(session, list(drugs.values()))
    return Checked(encounter, draft, drugs, check(draft, patient, interactions))


async def check_prescription(
    session: AsyncSession, actor: Actor, *, body: PrescriptionCreate
) -> Checked:
    """Every finding of the draft as the doctor writes it; nothing is written but the audit of
    reading the patient's allergies (R10, R11, R16–R18)."""
    encounter = await encounter_of(session, actor, body)
    checked = await checked_draft(session, actor, encounter, body)
    await record(
        session,
        actor,
        action="prescribing.checked",
        subject_type=SUBJECT_TYPES[encounter.kind],
        subject_id=encounter.id,
        patient_id=encounter.patient_id,
        details={"codes": [finding.code for finding in checked.findings]},
    )
    return checked


async def _next_number(session: AsyncSession, actor: Actor) -> str:
    """RX + the Shanghai date + the day's sequence (a collision is retried by the caller)."""
    prefix = "RX" + actor.clock.today_local().strftime("%Y%m%d")
    taken = await session.scalar(
        select(func.count()).where(Prescription.number.startswith(prefix, autoescape=True))
    )
    return f"{prefix}{(taken or 0) + 1:06d}"


def prescribed_name(drug: Drug) -> str:
    """The drug as the prescription names it: generic name and strength (规格), e.g.
    ``苯磺酸氨氯地平片 5mg``."""
    return (
        f"{drug.generic_name_zh} {format(drug.strength_value.normalize(), 'f')}{drug.strength_unit}"
    )


def _items(checked: Checked, body: PrescriptionCreate) -> list[PrescriptionItem]:
    items = []
    for position, (item, sent) in enumerate(
        zip(checked.draft.items, body.items, strict=True), start=1
    ):
        quantity = quantity_of(item)
        assert quantity is not None  # a draft without one has a blocking finding
        items.append(
            PrescriptionItem(
                position=position,
                drug_id=item.drug.id,
                drug_code=item.drug.code,
                drug_name=prescribed_name(item.drug),
                dose=item.dose,
                dose_unit=item.dose_unit,
                frequency=item.frequency,
                route=item.route,
                days=item.days,
                quantity=quantity,
                quantity_unit=item.drug.package_unit,
                note=sent.note or None,
                override_reason=item.override_reason or None,
                origin="entered",  # R07: typed by the doctor
            )
        )
    return items


async def _sign_and_store(
    session: AsyncSession,
    actor: Actor,
    checked: Checked,
    body: PrescriptionCreate,
    diagnoses: list[Diagnosis],
    *,
    cipher: FieldCipher,
    previous: Prescription | None,
) -> tuple[Prescription, list[PrescriptionItem]]:
    encounter = checked.encounter
    now = actor.clock.now()
    birth_date = await birth_date_of(session, patient_id=encounter.patient_id)
    for attempt in range(NUMBER_ATTEMPTS):
        prescription = Prescription(
            number=await _next_number(session, actor),
            version=1 if previous is None else previous.version + 1,
            previous_version_id=None if previous is None else previous.id,
            institution_id=encounter.institution_id,
            patient_id=encounter.patient_id,
            consultation_id=encounter.consultation_id,
            appointment_id=encounter.appointment_id,
            prescriber_id=encounter.practitioner_id,
            status="pending_review",
            patient_name=encounter.patient_name,
            patient_sex=encounter.patient_sex,
            patient_age=prescription_age(birth_date, to_local(now).date()),
            diagnoses=[{"code": d.code, "name": d.name} for d in diagnoses],
            emergency=body.emergency,
            long_term=body.long_term,
            supply_reason=body.supply_reason or None,
            validity_days=body.validity_days,
            validity_reason=body.validity_reason or None,
            issued_at=now,
            valid_until=to_local(now).date() + timedelta(days=body.validity_days - 1),
        )
        items = _items(checked, body)
        message = canonical_json(signed_content(prescription, items))
        signature = await sign(
            session,
            actor,
            practitioner_id=prescription.prescriber_id,
            message=message,
            cipher=cipher,
        )
        prescription.content_sha256 = sha256_hex(message)
        prescription.signing_key_id = signature.key_id
        prescription.signature = signature.value
        try:
            async with session.begin_nested():
                session.add(prescription)
                await session.flush()
        except IntegrityError:
            if attempt + 1 == NUMBER_ATTEMPTS:
                raise
            continue
        for item in items:
            item.prescription_id = prescription.id
        session.add_all(items)
        await session.flush()
        return prescription, items
    raise AssertionError("unreachable")


async def _write(
    session: AsyncSession,
    actor: Actor,
    encounter: Encounter,
    body: PrescriptionCreate,
    *,
    cipher: FieldCipher,
    previous: Prescription | None = None,
) -> tuple[Prescription, list[PrescriptionItem]]:
    diagnoses = await checked_diagnoses(session, body.diagnoses)
    checked = await checked_draft(session, actor, encounter, body)
    if checked.refused:
        raise ChecksFailed(checked.findings, checked.drugs)
    prescription, items = await _sign_and_store(
        session, actor, checked, body, diagnoses, cipher=cipher, previous=previous
    )
    details: dict[str, Any] = {
        "number": prescription.number,
        "version": prescription.version,
        "previous_version_id": prescription.previous_version_id,
        "consultation_id": encounter.consultation_id,
        "appointment_id": encounter.appointment_id,
        "drug_codes": [item.drug_code for item in items],
        "chronic": body.chronic,
        "warnings": [f.code for f in checked.findings if f.severity != "block"],
        "content_sha256": prescription.content_sha256,
    }
    if encounter.kind == VISIT and encounter.guardian_required:
        details["guardian_present"] = encounter.guardian_confirmed  # R11, confirmed in person
    await record(
        session,
        actor,
        action=SIGNED,
        subject_type="prescription",
        subject_id=prescription.id,
        patient_id=prescription.patient_id,
        details=details,
    )
    payload = {
        "topic": SIGNED,
        "prescription_id": prescription.id,
        "institution_id": prescription.institution_id,
        "patient_id": prescription.patient_id,
        "prescriber_id": prescription.prescriber_id,
        "issued_at": prescription.issued_at.isoformat(),
        **details,
    }
    await emit(session, actor, topic=SIGNED, payload=payload)
    return prescription, items


async def write_prescription(
    session: AsyncSession, actor: Actor, *, body: PrescriptionCreate, cipher: FieldCipher
) -> tuple[Prescription, list[PrescriptionItem]]:
    """Check, sign and store the doctor's prescription for their diagnostic consultation or
    in-person visit; it waits for the pharmacist's review (R01, R04, R06, R07, R10, R11,
    R16–R18)."""
    encounter = await encounter_of(session, actor, body)
    return await _write(session, actor, encounter, body, cipher=cipher)


async def _own_prescription(
    session: AsyncSession, actor: Actor, prescription_id: int
) -> Prescription:
    doctor = await own_practitioner(session, actor)
    prescription = await session.scalar(
        select(Prescription).where(Prescription.id == prescription_id).with_for_update()
    )
    if prescription is None or prescription.prescriber_id != doctor.id:
        raise prescription_not_found(prescription_id)
    return prescription


async def revise_prescription(
    session: AsyncSession,
    actor: Actor,
    *,
    prescription_id: int,
    body: PrescriptionDraft,
    cipher: FieldCipher,
) -> tuple[Prescription, list[PrescriptionItem]]:
    """Write the next version of a prescription the pharmacist rejected: checked and signed
    again, pointing at the version it replaces, while its consultation or visit is still open
    for prescribing (R06, R20)."""
    previous = await _own_prescription(session, actor, prescription_id)
    if previous.status != "rejected":
        raise Conflict(
            "prescribing.not_rejected",
            "Only a rejected prescription can be revised.",
            status=previous.status,
        )
    successor = await session.scalar(
        select(Prescription.id).where(Prescription.previous_version_id == previous.id)
    )
    if successor is not None:
        raise Conflict(
            "prescribing.already_revised",
            "This prescription was already revised as prescription {revision_id}.",
            revision_id=successor,
        )
    draft = body.for_encounter_of(previous)
    encounter = await encounter_of(session, actor, draft)
    return await _write(session, actor, encounter, draft, cipher=cipher, previous=previous)


async def void_prescription(
    session: AsyncSession, actor: Actor, *, prescription_id: int
) -> Prescription:
    """The prescriber withdraws a prescription the pharmacist has not reviewed yet (audited,
    published for the review queue)."""
    prescription = await _own_prescription(session, actor, prescription_id)
    await require_work_session(session, actor, await own_practitioner(session, actor))
    if prescription.status != "pending_review":
        raise Conflict(
            "prescribing.not_pending",
            "Only a prescription waiting for review can be voided.",
            status=prescription.status,
        )
    prescription.status = "voided"
    await session.flush()
    await record(
        session,
        actor,
        action=VOIDED,
        subject_type="prescription",
        subject_id=prescription.id,
        patient_id=prescription.patient_id,
        details={"number": prescription.number},
    )
    payload = {
        "topic": VOIDED,
        "prescription_id": prescription.id,
        "institution_id": prescription.institution_id,
        "number": prescription.number,
    }
    await emit(session, actor, topic=VOIDED, payload=payload)
    return prescription
