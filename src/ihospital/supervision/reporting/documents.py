"""Standardised documents of the feed, built from the domain rows when the event happens.

Each kind has a schema version; a document names the institution, the practitioner by licence
and the patient only by the masked resident ID number, sex and age (个人信息保护法 Art.28: a
regulator's feed carries what supervision needs and no more: no names, contacts, complaints or
record narratives; a medical record travels as its diagnoses and the digest of its signed
content, which a case file can be checked against). Amounts of drugs and codes (ICD-10,
national insurance drug codes) follow DOMAIN.md's code sets.

Another kind is added by naming it in :data:`KINDS` with its required fields and appending its
documents from a subscriber of its event, as supervision's alerts are: raised, acknowledged and
resolved, each a version of the alert's record (the rule, its catalogue entry, the figures that
raised it, and who handled it when, with the resolution note).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import Consultation
from ihospital.consultation.records.models import MedicalRecord
from ihospital.consultation.records.repository import diagnoses_of
from ihospital.directory.access import practitioners_by_id
from ihospital.identity.models import Patient
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.repository import prescription_items
from ihospital.supervision.catalogue import rules_by_id
from ihospital.supervision.models import SupervisionAlert

SCHEMA_VERSION = 1
CONSULTATION = "consultation"
PRESCRIPTION = "prescription"
PRESCRIPTION_REVIEW = "prescription_review"
MEDICAL_RECORD = "medical_record"
ALERT = "alert"
# the fields each kind's document must hold; the platform refuses a record without them
KINDS: dict[str, tuple[str, ...]] = {
    CONSULTATION: ("consultation_id", "type", "status", "patient", "practitioner"),
    PRESCRIPTION: ("number", "status", "issued_at", "patient", "prescriber", "items"),
    PRESCRIPTION_REVIEW: ("number", "decision", "reasons", "reviewed_at"),
    MEDICAL_RECORD: ("consultation_id", "record_version", "diagnoses", "content_sha256"),
    ALERT: ("alert_id", "rule_id", "severity", "status", "subject", "opened_at"),
}


@dataclass(frozen=True)
class Standardised:
    """A document of one kind about one subject (its stable id in our domain)."""

    kind: str
    subject_id: int
    institution_id: int
    body: dict[str, Any]


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


async def _patient(session: AsyncSession, patient_id: int, sex: str, age: Any) -> dict[str, Any]:
    patient = await session.get(Patient, patient_id)
    masked = patient.id_number_masked if patient is not None else None
    return {"id_number_masked": masked, "sex": sex, "age": str(age)}


async def _practitioner(session: AsyncSession, practitioner_id: int) -> dict[str, Any]:
    found = (await practitioners_by_id(session, [practitioner_id])).get(practitioner_id)
    if found is None:
        return {"id": practitioner_id}
    return {
        "id": practitioner_id,
        "licence_number": found.licence_number,
        "name": found.name,
        "title": found.title,
    }


async def consultation_document(session: AsyncSession, consultation_id: int) -> Standardised:
    """A consultation as it stands: type, status and its moments, whether it is diagnostic
    (R01: a follow-up with its earlier offline diagnosis) and how it ended."""
    c = await session.get(Consultation, consultation_id)
    if c is None:
        raise LookupError(f"consultation {consultation_id} is gone")
    body = {
        "consultation_id": c.id,
        "type": c.consultation_type,
        "status": c.status,
        "diagnostic": c.prior_confirmed_at is not None,
        "prior_diagnosis": c.prior_diagnosis,
        "prior_institution": c.prior_institution,
        "created_at": _when(c.created_at),
        "accepted_at": _when(c.accepted_at),
        "ended_at": _when(c.ended_at),
        "close_reason": c.close_reason,
        "cancel_reason": c.cancel_reason,
        "fee_fen": c.fee_fen,
        "patient": await _patient(session, c.patient_id, c.patient_sex, c.patient_age),
        "practitioner": await _practitioner(session, c.practitioner_id),
    }
    return Standardised(CONSULTATION, c.id, c.institution_id, body)


async def _prescription(session: AsyncSession, prescription_id: int) -> Prescription:
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None:
        raise LookupError(f"prescription {prescription_id} is gone")
    return prescription


async def prescription_document(session: AsyncSession, prescription_id: int) -> Standardised:
    """A signed (or voided) e-prescription in the shape of WS 445.3: diagnoses, items with the
    national drug code, dose, frequency, days and quantity, and the digest it was signed over."""
    p = await _prescription(session, prescription_id)
    items = await prescription_items(session, p.id)
    body = {
        "number": p.number,
        "prescription_version": p.version,
        "previous_version_id": p.previous_version_id,
        "encounter": "online" if p.consultation_id is not None else "in_person",
        "consultation_id": p.consultation_id,
        "appointment_id": p.appointment_id,
        "status": p.status,
        "issued_at": _when(p.issued_at),
        "valid_until": p.valid_until.isoformat(),
        "emergency": p.emergency,
        "long_term": p.long_term,
        "diagnoses": p.diagnoses,
        "content_sha256": p.content_sha256,
        "patient": await _patient(session, p.patient_id, p.patient_sex, p.patient_age),
        "prescriber": await _practitioner(session, p.prescriber_id),
        "items": [
            {
                "drug_code": item.drug_code,
                "drug_name": item.drug_name,
                "dose": str(item.dose),
                "dose_unit": item.dose_unit,
                "frequency": item.frequency,
                "route": item.route,
                "days": item.days,
                "quantity": item.quantity,
                "quantity_unit": item.quantity_unit,
                "origin": item.origin,
            }
            for item in items
        ],
    }
    return Standardised(PRESCRIPTION, p.id, p.institution_id, body)


async def review_document(session: AsyncSession, prescription_id: int) -> Standardised:
    """The pharmacist's decision (审方) on a prescription with the coded reasons (R20)."""
    p = await _prescription(session, prescription_id)
    body = {
        "number": p.number,
        "prescription_id": p.id,
        "decision": p.status,
        "reasons": p.rejection_codes or [],
        "issued_at": _when(p.issued_at),
        "reviewed_at": _when(p.reviewed_at),
        "reviewer_account_id": p.reviewed_by_account_id,
    }
    return Standardised(PRESCRIPTION_REVIEW, p.id, p.institution_id, body)


async def medical_record_document(session: AsyncSession, record_id: int) -> Standardised:
    """A signed version of a consultation's medical record: its diagnoses and the digest of
    its signed content; the subject is the consultation, whose record it is."""
    record = await session.get(MedicalRecord, record_id)
    if record is None:
        raise LookupError(f"medical record {record_id} is gone")
    consultation = await session.get(Consultation, record.consultation_id)
    if consultation is None:
        raise LookupError(f"consultation {record.consultation_id} is gone")
    diagnoses = (await diagnoses_of(session, [record]))[record.id]
    body = {
        "consultation_id": record.consultation_id,
        "record_version": record.version,
        "signed_at": _when(record.signed_at),
        "signed_by": await _practitioner(session, record.signed_by),
        "diagnoses": [{"code": d.code, "name": d.name} for d in diagnoses],
        "content_sha256": record.content_sha256,
    }
    return Standardised(MEDICAL_RECORD, record.consultation_id, consultation.institution_id, body)


async def alert_document(session: AsyncSession, alert_id: int) -> Standardised:
    """A supervision alert as it stands: its rule (id, basis, stage, aspect, source), the
    figures that raised it, the 就诊人 only by masked ID number, and its lifecycle."""
    alert = await session.get(SupervisionAlert, alert_id)
    if alert is None:
        raise LookupError(f"alert {alert_id} is gone")
    rule = rules_by_id()[alert.rule_id]
    patient = await session.get(Patient, alert.patient_id) if alert.patient_id else None
    body = {
        "alert_id": alert.id,
        "rule_id": alert.rule_id,
        "rule": {
            "basis": rule.basis,
            "stage": rule.stage,
            "aspect": rule.aspect,
            "mandatory": rule.mandatory,
            "source": rule.source,
        },
        "severity": alert.severity,
        "status": alert.status,
        "subject": alert.subject,
        "details": json.loads(alert.details),
        "occurrences": alert.occurrences,
        "patient": None if patient is None else {"id_number_masked": patient.id_number_masked},
        "opened_at": _when(alert.opened_at),
        "acknowledged_at": _when(alert.acknowledged_at),
        "acknowledged_by_account_id": alert.acknowledged_by_account_id,
        "resolved_at": _when(alert.resolved_at),
        "resolved_by_account_id": alert.resolved_by_account_id,
        "resolution_note": alert.resolution_note,
    }
    return Standardised(ALERT, alert.id, alert.institution_id, body)
