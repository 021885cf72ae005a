"""JSON routes of 就诊人 (``/api/patients``): only the owning account sees or changes them."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import APIRouter, Depends, Path, Request, Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.identity.models import Patient
from ihospital.identity.patients import (
    KEEP,
    add_patient,
    deactivate_patient,
    get_patient,
    list_patients,
    retry_realname_verification,
    update_patient,
)
from ihospital.identity.providers import RealNameProvider
from ihospital.identity.schemas import PatientCreate, PatientRead, PatientUpdate
from ihospital.security.crypto import FieldCipher
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/patients", tags=["patients"])

Owner = Annotated[Actor, Depends(require(Permission.PATIENTS_OWN))]
PatientId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The 就诊人's id.")]


class RealNameTerms(TypedDict):
    cipher: FieldCipher
    provider: RealNameProvider


def realname_terms(request: Request) -> RealNameTerms:
    """What adding, renaming and re-verifying a 就诊人 need beside the actor: the ID cipher and
    the real-name service."""
    return {"cipher": request.app.state.cipher, "provider": request.app.state.realname_provider}


def patient_read(patient: Patient, actor: Actor) -> PatientRead:
    """``patient`` as its account sees it, aged on the actor's local today."""
    return PatientRead.of(patient, today=actor.clock.today_local())


@router.get("")
async def list_own_patients(
    session: DbSession, actor: Owner, include_inactive: bool = False
) -> list[PatientRead]:
    """The account's 就诊人 (removed ones too with ``include_inactive=true``)."""
    patients = await list_patients(session, actor, include_inactive=include_inactive)
    return [patient_read(patient, actor) for patient in patients]


@router.post("", status_code=201)
async def create_patient(
    body: PatientCreate, request: Request, session: DbSession, actor: Owner
) -> PatientRead:
    """Add a 就诊人; the real name is verified at once (status ``verified``, ``failed`` or
    ``pending`` when the verification service did not answer in time)."""
    patient = await add_patient(session, actor, **body.model_dump(), **realname_terms(request))
    return patient_read(patient, actor)


@router.get("/{patient_id}")
async def read_patient(patient_id: PatientId, session: DbSession, actor: Owner) -> PatientRead:
    """One of the account's 就诊人."""
    return patient_read(await get_patient(session, actor, patient_id=patient_id), actor)


@router.patch("/{patient_id}")
async def change_patient(
    patient_id: PatientId, body: PatientUpdate, request: Request, session: DbSession, actor: Owner
) -> PatientRead:
    """Change name, relationship or mobile (``"mobile": null`` removes it). A new name is
    verified again."""
    sent = body.model_fields_set
    patient = await update_patient(
        session,
        actor,
        patient_id=patient_id,
        name=body.name if "name" in sent and body.name is not None else KEEP,
        relationship=(
            body.relationship if "relationship" in sent and body.relationship is not None else KEEP
        ),
        mobile=body.mobile if "mobile" in sent else KEEP,
        **realname_terms(request),
    )
    return patient_read(patient, actor)


@router.delete("/{patient_id}", status_code=204)
async def remove_patient(patient_id: PatientId, session: DbSession, actor: Owner) -> Response:
    """Remove a 就诊人 from the list; its record and history are kept."""
    await deactivate_patient(session, actor, patient_id=patient_id)
    return Response(status_code=204)


@router.post("/{patient_id}/realname-verification")
async def retry_realname(
    patient_id: PatientId, request: Request, session: DbSession, actor: Owner
) -> PatientRead:
    """Ask the real-name service again (after a timeout or a corrected name)."""
    patient = await retry_realname_verification(
        session, actor, patient_id=patient_id, **realname_terms(request)
    )
    return patient_read(patient, actor)
