"""The doctor's JSON routes of prescribing: check a draft (changes nothing), write and sign,
revise after the pharmacist's rejection, void before review, and the patient's recorded
allergies. A draft names its consultation (``consultation_id``) or in-person visit
(``appointment_id``). Every route is the doctor's own consultation, visit or prescription; any
other is not found."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.prescribing.allergies import consultation_allergies, record_allergy
from ihospital.prescribing.checks import quantity_of
from ihospital.prescribing.repository import prescription_items
from ihospital.prescribing.schemas import (
    AllergyIn,
    AllergyRead,
    CheckedItemRead,
    CheckRead,
    PrescriptionCreate,
    PrescriptionDraft,
    PrescriptionRead,
    finding_read,
)
from ihospital.prescribing.service import (
    check_prescription,
    revise_prescription,
    void_prescription,
    write_prescription,
)
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/doctor", tags=["prescribing"])

Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
ObjectId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/prescriptions/check")
async def check(body: PrescriptionCreate, session: DbSession, actor: Doctor) -> CheckRead:
    """Every finding of the draft for a consultation or an in-person visit as it stands (R10,
    R11, R16–R18); nothing is written."""
    checked = await check_prescription(session, actor, body=body)
    return CheckRead(
        findings=[finding_read(f, checked.drugs) for f in checked.findings],
        items=[
            CheckedItemRead(
                position=position,
                drug_id=item.drug.id,
                quantity=quantity_of(item),
                quantity_unit=item.drug.package_unit,
            )
            for position, item in enumerate(checked.draft.items, start=1)
        ],
        refused=checked.refused,
    )


@router.post("/prescriptions", status_code=201)
async def write(
    body: PrescriptionCreate, request: Request, session: DbSession, actor: Doctor
) -> PrescriptionRead:
    """Check, sign and submit the prescription for the pharmacist's review (R06)."""
    prescription, items = await write_prescription(
        session, actor, body=body, cipher=request.app.state.cipher
    )
    return PrescriptionRead.of(prescription, items)


@router.post("/prescriptions/{prescription_id}/revisions", status_code=201)
async def revise(
    prescription_id: ObjectId,
    body: PrescriptionDraft,
    request: Request,
    session: DbSession,
    actor: Doctor,
) -> PrescriptionRead:
    """A new, checked and signed version of a rejected prescription."""
    prescription, items = await revise_prescription(
        session,
        actor,
        prescription_id=prescription_id,
        body=body,
        cipher=request.app.state.cipher,
    )
    return PrescriptionRead.of(prescription, items)


@router.post("/prescriptions/{prescription_id}/void")
async def void(prescription_id: ObjectId, session: DbSession, actor: Doctor) -> PrescriptionRead:
    """Withdraw a prescription still waiting for review."""
    prescription = await void_prescription(session, actor, prescription_id=prescription_id)
    return PrescriptionRead.of(prescription, await prescription_items(session, prescription.id))


@router.get("/consultations/{consultation_id}/allergies")
async def allergies(
    consultation_id: ObjectId, session: DbSession, actor: Doctor
) -> list[AllergyRead]:
    """The recorded drug allergies of the consultation's 就诊人."""
    rows = await consultation_allergies(session, actor, consultation_id=consultation_id)
    return [AllergyRead.model_validate(row) for row in rows]


@router.post("/consultations/{consultation_id}/allergies", status_code=201)
async def add_allergy(
    consultation_id: ObjectId, body: AllergyIn, session: DbSession, actor: Doctor
) -> AllergyRead:
    """Record a drug allergy of the consultation's 就诊人 (ingredient or ATC class)."""
    allergy = await record_allergy(
        session,
        actor,
        consultation_id=consultation_id,
        kind=body.kind,
        code=body.code,
        reaction=body.reaction,
    )
    return AllergyRead.model_validate(allergy)
