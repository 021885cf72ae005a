"""The case of a consultation: its lifecycle, what was said (how many messages, of which kind, by
whom: never their text), the video calls, every signed version of its medical record, the
prescriptions written in it, and its bill."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.call_models import ConsultationCall
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.models import Consultation
from ihospital.consultation.records.reading import check_record
from ihospital.consultation.records.repository import diagnoses_of, record_versions
from ihospital.identity.patient_cards import mask_name
from ihospital.prescribing.models import Prescription
from ihospital.supervision.traceability.kinds import (
    RECORD,
    CaseEvent,
    CaseKind,
    CaseSubject,
    register,
)
from ihospital.supervision.traceability.money import add_bill

CONSULTATION_CASE_MESSAGE = "Consultation"


def _lifecycle(consultation: Consultation) -> list[tuple[datetime | None, str, dict]]:
    """The steps the consultation's own columns date, with what each step says."""
    return [
        (consultation.created_at, "consultation.started", {"type": consultation.consultation_type}),
        (consultation.paid_at, "consultation.paid", {"fee_fen": consultation.fee_fen}),
        (consultation.accepted_at, "consultation.accepted", {}),
        (
            consultation.prior_confirmed_at,
            "consultation.prior_confirmed",
            {"prior_diagnosis": consultation.prior_diagnosis},
        ),
        (
            consultation.guardian_confirmed_at,
            "consultation.guardian_confirmed",
            {"relationship": consultation.guardian_relationship},
        ),
        (
            consultation.ended_at,
            "consultation.ended",
            {
                "status": consultation.status,
                "close_reason": consultation.close_reason,
                "cancel_reason": consultation.cancel_reason,
            },
        ),
        (consultation.rated_at, "consultation.rated", {}),
    ]


async def _messages(session: AsyncSession, consultation_id: int) -> list[dict]:
    """How many messages of each kind each side sent, and when the first and last were sent."""
    rows = await session.execute(
        select(
            ConsultationMessage.sender_role,
            ConsultationMessage.kind,
            func.count(),
            func.min(ConsultationMessage.created_at),
            func.max(ConsultationMessage.created_at),
        )
        .where(ConsultationMessage.consultation_id == consultation_id)
        .group_by(ConsultationMessage.sender_role, ConsultationMessage.kind)
        .order_by(ConsultationMessage.sender_role, ConsultationMessage.kind)
    )
    return [
        {"sender_role": role, "kind": kind, "count": count, "first_at": first, "last_at": last}
        for role, kind, count, first, last in rows
    ]


async def _calls(session: AsyncSession, case: CaseSubject) -> None:
    calls = await session.scalars(
        select(ConsultationCall)
        .where(ConsultationCall.consultation_id == case.case_id)
        .order_by(ConsultationCall.started_at, ConsultationCall.id)
    )
    for call in calls:
        subject = f"consultation_call:{call.id}"
        case.events.append(CaseEvent(call.started_at, RECORD, "consultation.call_started", subject))
        if call.ended_at is not None:
            details = {"ended_by": call.ended_by, "duration_seconds": call.duration_seconds}
            case.events.append(
                CaseEvent(
                    call.ended_at, RECORD, "consultation.call_ended", subject, details=details
                )
            )


async def _records(session: AsyncSession, case: CaseSubject) -> None:
    """Every version of the record, an amendment naming the version it replaces, with whether
    its signature still holds."""
    versions = await record_versions(session, case.case_id)
    diagnoses = await diagnoses_of(session, versions)
    for version in versions:
        check = await check_record(session, version)
        case.audit_subjects.setdefault("medical_record", set()).add(version.id)
        details = {
            "record_id": version.id,
            "amends": version.previous_version_id,
            "diagnoses": [row.code for row in diagnoses[version.id]],
            "content_sha256": version.content_sha256,
            "signature_valid": check.valid,
        }
        action = (
            "medical_record.amended" if version.previous_version_id else "medical_record.signed"
        )
        case.events.append(
            CaseEvent(
                version.signed_at,
                RECORD,
                action,
                f"medical_record:{version.id}",
                version=version.version,
                details=details,
            )
        )
        case.versions.append({"subject": "medical_record", **details, "version": version.version})


async def _prescriptions(session: AsyncSession, case: CaseSubject) -> None:
    """The prescriptions written in the consultation (their own case holds their review and
    fill); only their signing shows here."""
    prescriptions = await session.scalars(
        select(Prescription)
        .where(Prescription.consultation_id == case.case_id)
        .order_by(Prescription.issued_at, Prescription.id)
    )
    for prescription in prescriptions:
        details = {
            "prescription_id": prescription.id,
            "number": prescription.number,
            "status": prescription.status,
        }
        case.events.append(
            CaseEvent(
                prescription.issued_at,
                RECORD,
                "prescription.signed",
                f"prescription:{prescription.id}",
                version=prescription.version,
                details=details,
            )
        )


async def read_consultation(session: AsyncSession, case_id: int) -> CaseSubject | None:
    """The case of consultation ``case_id``, None when there is none."""
    consultation = await session.get(Consultation, case_id)
    if consultation is None:
        return None
    messages = await _messages(session, consultation.id)
    case = CaseSubject(
        kind="consultation",
        case_id=consultation.id,
        reference=str(consultation.id),
        institution_id=consultation.institution_id,
        patient_id=consultation.patient_id,
        facts={
            "status": consultation.status,
            "consultation_type": consultation.consultation_type,
            "patient": mask_name(consultation.patient_name),
            "practitioner_id": consultation.practitioner_id,
            "messages": messages,
        },
        events=[],
        audit_subjects={"consultation": {consultation.id}},
        alert_subjects={f"consultation:{consultation.id}"},
        feed_subjects={"consultation": {consultation.id}, "medical_record": {consultation.id}},
    )
    subject = f"consultation:{consultation.id}"
    for at, action, details in _lifecycle(consultation):
        if at is not None:
            case.events.append(CaseEvent(at, RECORD, action, subject, details=details))
    if messages:
        count = sum(row["count"] for row in messages)
        first = min(row["first_at"] for row in messages)
        case.events.append(
            CaseEvent(first, RECORD, "consultation.messages", subject, details={"count": count})
        )
    await _calls(session, case)
    await _records(session, case)
    await _prescriptions(session, case)
    await add_bill(session, case, consultation.order_id)
    return case


register(CaseKind("consultation", CONSULTATION_CASE_MESSAGE, read_consultation))
