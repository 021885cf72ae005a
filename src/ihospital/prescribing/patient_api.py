"""JSON routes of the patient's prescriptions: those of the account's 就诊人, with their drugs
only once a pharmacist approved them (R06)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.prescribing.patient_prescriptions import my_prescription, my_prescriptions
from ihospital.prescribing.review_schemas import PatientPrescriptionRead
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["my prescriptions"])

Patient = Annotated[Actor, Depends(require(Permission.PRESCRIPTIONS_OWN))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/prescriptions")
async def mine(session: DbSession, actor: Patient) -> list[PatientPrescriptionRead]:
    """The prescriptions of the account's 就诊人, newest first."""
    return [PatientPrescriptionRead.of(view) for view in await my_prescriptions(session, actor)]


@router.get("/prescriptions/{prescription_id}")
async def one(prescription_id: Id, session: DbSession, actor: Patient) -> PatientPrescriptionRead:
    """One prescription of the account's 就诊人 (another's is not found)."""
    view = await my_prescription(session, actor, prescription_id=prescription_id)
    return PatientPrescriptionRead.of(view)
