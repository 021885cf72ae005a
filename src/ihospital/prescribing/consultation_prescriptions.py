"""The prescriptions of one consultation, for its doctor.

The consultation page lists them with where they stand: waiting for the pharmacist's review,
approved, rejected with the pharmacist's coded reasons (R20) and a link to revise it, voided,
filled or expired (R16). A revision starts from the rejected version: its diagnoses, items and
reasons fill the prescribing form, and signing writes the next version (R06). Every read is
audited (R13).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.prescribing.encounters import Encounter
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.repository import prescription_items, prescription_not_found
from ihospital.prescribing.review import audit_read
from ihospital.prescribing.verification import current_status


@dataclass(frozen=True)
class ConsultationPrescription:
    """A prescription of the consultation, its status with R16 applied and the version that
    replaced it, if any."""

    prescription: Prescription
    status: str
    revised_by: int | None

    @property
    def revisable(self) -> bool:
        return self.status == "rejected" and self.revised_by is None


async def consultation_prescriptions(
    session: AsyncSession, actor: Actor, *, consultation: Consultation
) -> list[ConsultationPrescription]:
    """The prescriptions of a consultation the doctor has read (``read_assigned``), newest
    first; the listing is audited."""
    prescriptions = list(
        await session.scalars(
            select(Prescription)
            .where(Prescription.consultation_id == consultation.id)
            .order_by(Prescription.issued_at.desc(), Prescription.id.desc())
        )
    )
    await record(
        session,
        actor,
        action="prescription.list",
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
        details={"prescription_ids": [p.id for p in prescriptions]},
    )
    successors = {p.previous_version_id: p.id for p in prescriptions if p.previous_version_id}
    today = actor.clock.today_local()
    return [
        ConsultationPrescription(p, current_status(p, today), successors.get(p.id))
        for p in prescriptions
    ]


async def rejected_for_revision(
    session: AsyncSession, actor: Actor, *, encounter: Encounter, prescription_id: int
) -> tuple[Prescription, list[PrescriptionItem]]:
    """A rejected prescription, not yet revised, of a consultation or visit the doctor has read
    (``read_assigned``, ``visit_encounter``), with its items, to start the revision from
    (audited). Any other is not found."""
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None or (prescription.consultation_id, prescription.appointment_id) != (
        encounter.consultation_id,
        encounter.appointment_id,
    ):
        raise prescription_not_found(prescription_id)
    revised = await session.scalar(
        select(Prescription.id).where(Prescription.previous_version_id == prescription.id)
    )
    if prescription.status != "rejected" or revised is not None:
        raise prescription_not_found(prescription_id)
    await audit_read(session, actor, prescription, purpose="revision")
    return prescription, await prescription_items(session, prescription.id)
