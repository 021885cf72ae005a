"""The patient's view of prescriptions ("my prescriptions").

An account sees the prescriptions of its own 就诊人; another's is not found. A prescription shows
its drugs only once a pharmacist approved it (R06): approved ones are valid through the
Asia/Shanghai day ``valid_until`` and shown as expired after it (R16); filled ones are shown as
filled (R19). One waiting for review or rejected (the doctor writes a new version) is only a
line without drugs and cannot be bought; a rejected one that has a new version, and a voided
one, are not shown. Every read is audited (R13).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.identity.patients import account_of_patient, list_patients
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.repository import prescription_not_found
from ihospital.prescribing.review import audit_read, prescribers

WITH_DRUGS = ("approved", "filled")
# the pharmacy's page where an approved prescription is bought (pharmacy orders)
ORDER_PAGE = "/prescriptions/{prescription_id}/buy"
STATES = ("under_review", "being_revised", "valid", "expired", "filled")


@dataclass(frozen=True)
class PatientPrescription:
    """A prescription as its patient sees it; ``items`` are empty until it is approved."""

    prescription: Prescription
    items: list[PrescriptionItem]
    prescriber_name: str | None
    state: str

    @property
    def shows_drugs(self) -> bool:
        return self.prescription.status in WITH_DRUGS

    @property
    def buyable(self) -> bool:
        return self.state == "valid"

    @property
    def order_url(self) -> str | None:
        return ORDER_PAGE.format(prescription_id=self.prescription.id) if self.buyable else None


def _state(prescription: Prescription, actor: Actor) -> str:
    if prescription.status == "pending_review":
        return "under_review"
    if prescription.status == "rejected":
        return "being_revised"
    if prescription.status == "filled":
        return "filled"
    return "expired" if actor.clock.today_local() > prescription.valid_until else "valid"


async def _views(
    session: AsyncSession, actor: Actor, prescriptions: list[Prescription]
) -> list[PatientPrescription]:
    """The patient's views, with the items of the approved ones in one query."""
    shown = [p.id for p in prescriptions if p.status in WITH_DRUGS]
    items: dict[int, list[PrescriptionItem]] = defaultdict(list)
    if shown:
        for item in await session.scalars(
            select(PrescriptionItem)
            .where(PrescriptionItem.prescription_id.in_(shown))
            .order_by(PrescriptionItem.prescription_id, PrescriptionItem.position)
        ):
            items[item.prescription_id].append(item)
    doctors = await prescribers(session, [p.prescriber_id for p in prescriptions])
    return [
        PatientPrescription(
            prescription=p,
            items=items[p.id],
            prescriber_name=doctor.name if (doctor := doctors.get(p.prescriber_id)) else None,
            state=_state(p, actor),
        )
        for p in prescriptions
    ]


def _visible(prescriptions: list[Prescription]) -> list[Prescription]:
    """Leave out voided prescriptions and rejected ones the doctor has replaced."""
    replaced = {p.previous_version_id for p in prescriptions if p.previous_version_id}
    return [p for p in prescriptions if p.status != "voided" and p.id not in replaced]


async def my_prescriptions(session: AsyncSession, actor: Actor) -> list[PatientPrescription]:
    """The prescriptions of the account's 就诊人, newest first (the listing is audited)."""
    patient_ids = [patient.id for patient in await list_patients(session, actor)]
    prescriptions = _visible(
        list(
            await session.scalars(
                select(Prescription)
                .where(Prescription.patient_id.in_(patient_ids))
                .order_by(Prescription.issued_at.desc(), Prescription.id.desc())
            )
        )
        if patient_ids
        else []
    )
    await record(
        session,
        actor,
        action="prescription.list",
        subject_type="account",
        subject_id=actor.account_id,
        details={"prescription_ids": [p.id for p in prescriptions]},
    )
    return await _views(session, actor, prescriptions)


async def my_prescription(
    session: AsyncSession, actor: Actor, *, prescription_id: int
) -> PatientPrescription:
    """One prescription of the account's 就诊人 (another's, a voided or a replaced one is not
    found; the read is audited)."""
    prescription = await session.get(Prescription, prescription_id)
    if (
        prescription is None
        or await account_of_patient(session, patient_id=prescription.patient_id) != actor.account_id
    ):
        raise prescription_not_found(prescription_id)
    successor = await session.scalar(
        select(Prescription.id).where(Prescription.previous_version_id == prescription.id)
    )
    if not _visible([prescription]) or successor is not None:
        raise prescription_not_found(prescription_id)
    await audit_read(session, actor, prescription)
    return (await _views(session, actor, [prescription]))[0]
