"""JSON routes of online consultation: patients' consultations, the doctor's queue and actions,
and doctors' price lists (set by the doctor or the institution's admins; public for patients)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from ihospital.consultation.lifecycle import (
    cancel_consultation,
    confirm_guardian,
    get_consultation,
    list_consultations,
    start_consultation,
)
from ihospital.consultation.prices import list_prices, offered_prices, set_price
from ihospital.consultation.schemas import (
    AccompanyingDoctor,
    CloseCreate,
    ConsultationCreate,
    ConsultationRead,
    ConsultationType,
    GuardianConfirm,
    InstitutionPriceSet,
    PriceRead,
    PriceSet,
    ResponsePeriodRead,
    TransferCreate,
)
from ihospital.consultation.statistics import response_statistics, seconds
from ihospital.consultation.workstation import (
    accept_consultation,
    close_consultation,
    confirm_prior_diagnosis,
    doctor_queue,
    name_accompanying_doctor,
    read_assigned,
    transfer_consultation,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, optional_actor, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["consultation"])

Patient = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
PricingDoctor = Annotated[Actor, Depends(require(Permission.PRACTITIONER_SELF))]
StaffManager = Annotated[Actor, Depends(require(Permission.STAFF_MANAGE))]
PublicActor = Annotated[Actor, Depends(optional_actor)]
ConsultationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PractitionerId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/consultations", status_code=201)
async def start(body: ConsultationCreate, session: DbSession, actor: Patient) -> ConsultationRead:
    """Start a consultation with a doctor or the first available doctor of a department; with
    a fee it awaits payment of the bill ``order_id``."""
    consultation = await start_consultation(
        session,
        actor,
        patient_id=body.patient_id,
        practitioner_id=body.practitioner_id,
        department_code=body.department_code,
        institution_id=body.institution_id,
        consultation_type=body.consultation_type,
        complaint=body.complaint,
        prior=body.prior_diagnosis.value() if body.prior_diagnosis else None,
        scheduled_at=body.scheduled_at,
        campaign_id=body.campaign_id,
    )
    return ConsultationRead.of(consultation)


@router.get("/consultations")
async def my_consultations(session: DbSession, actor: Patient) -> list[ConsultationRead]:
    """The consultations of the account's 就诊人, newest first."""
    return [ConsultationRead.of(c) for c in await list_consultations(session, actor)]


@router.get("/consultations/{consultation_id}")
async def read_consultation(
    consultation_id: ConsultationId, session: DbSession, actor: Patient
) -> ConsultationRead:
    consultation = await get_consultation(session, actor, consultation_id=consultation_id)
    return ConsultationRead.of(consultation)


@router.post("/consultations/{consultation_id}/cancel")
async def cancel(
    consultation_id: ConsultationId, session: DbSession, actor: Patient
) -> ConsultationRead:
    """Cancel a consultation no doctor has begun; a paid fee is refunded."""
    consultation = await cancel_consultation(session, actor, consultation_id=consultation_id)
    return ConsultationRead.of(consultation)


@router.post("/consultations/{consultation_id}/guardian")
async def guardian(
    consultation_id: ConsultationId,
    body: GuardianConfirm,
    request: Request,
    session: DbSession,
    actor: Patient,
) -> ConsultationRead:
    """Confirm the guardian's presence for a child under 6, with their identity (R11)."""
    consultation = await confirm_guardian(
        session,
        actor,
        consultation_id=consultation_id,
        guardian_name=body.guardian_name,
        relationship=body.relationship,
        id_number=body.id_number,
        cipher=request.app.state.cipher,
    )
    return ConsultationRead.of(consultation)


@router.get("/doctor/consultations")
async def queue(
    session: DbSession,
    actor: Doctor,
    consultation_type: Annotated[ConsultationType | None, Query(alias="type")] = None,
) -> list[ConsultationRead]:
    """The consultations waiting for the signed-in doctor, longest waiting first."""
    waiting = await doctor_queue(session, actor, consultation_type=consultation_type)
    return [ConsultationRead.of(c) for c in waiting]


@router.get("/doctor/statistics/response-times")
async def response_times(session: DbSession, actor: Doctor) -> list[ResponsePeriodRead]:
    """The signed-in doctor's response times over the last 7 and 30 days (Asia/Shanghai
    days): accepted, time to accept (median, p90), time to first reply, share accepted within
    the limit, closed."""
    return [
        ResponsePeriodRead(
            days=period.days,
            since=period.since,
            accepted=period.accepted,
            accept_median_seconds=seconds(period.accept_median),
            accept_p90_seconds=seconds(period.accept_p90),
            first_reply_median_seconds=seconds(period.first_reply_median),
            within_limit_share=period.within_limit_share,
            closed=period.closed,
        )
        for period in await response_statistics(session, actor)
    ]


@router.get("/doctor/consultations/{consultation_id}")
async def read_assigned_consultation(
    consultation_id: ConsultationId, session: DbSession, actor: Doctor
) -> ConsultationRead:
    consultation = await read_assigned(session, actor, consultation_id=consultation_id)
    return ConsultationRead.of(consultation)


@router.post("/doctor/consultations/{consultation_id}/accept")
async def accept(
    consultation_id: ConsultationId, session: DbSession, actor: Doctor
) -> ConsultationRead:
    consultation = await accept_consultation(session, actor, consultation_id=consultation_id)
    return ConsultationRead.of(consultation)


@router.post("/doctor/consultations/{consultation_id}/prior-diagnosis/confirm")
async def confirm_prior(
    consultation_id: ConsultationId, session: DbSession, actor: Doctor
) -> ConsultationRead:
    """Confirm the patient's earlier offline diagnosis: the consultation becomes diagnostic."""
    consultation = await confirm_prior_diagnosis(session, actor, consultation_id=consultation_id)
    return ConsultationRead.of(consultation)


@router.post("/doctor/consultations/{consultation_id}/transfer")
async def transfer(
    consultation_id: ConsultationId, body: TransferCreate, session: DbSession, actor: Doctor
) -> ConsultationRead:
    """Hand the consultation to a colleague at the same institution."""
    consultation = await transfer_consultation(
        session, actor, consultation_id=consultation_id, practitioner_id=body.practitioner_id
    )
    return ConsultationRead.of(consultation)


@router.post("/doctor/consultations/{consultation_id}/accompanying-doctor")
async def accompanying_doctor(
    consultation_id: ConsultationId, body: AccompanyingDoctor, session: DbSession, actor: Doctor
) -> ConsultationRead:
    """Name the doctor of paediatrics accompanying a child under 6 (R11)."""
    consultation = await name_accompanying_doctor(
        session, actor, consultation_id=consultation_id, practitioner_id=body.practitioner_id
    )
    return ConsultationRead.of(consultation)


@router.post("/doctor/consultations/{consultation_id}/close")
async def close(
    consultation_id: ConsultationId, body: CloseCreate, session: DbSession, actor: Doctor
) -> ConsultationRead:
    consultation = await close_consultation(
        session,
        actor,
        consultation_id=consultation_id,
        advice=body.advice,
        visit_in_person=body.visit_in_person,
    )
    return ConsultationRead.of(consultation)


@router.get("/doctor/consultation-prices")
async def own_prices(session: DbSession, actor: PricingDoctor) -> list[PriceRead]:
    """The signed-in doctor's prices at every institution."""
    return [PriceRead.model_validate(p) for p in await list_prices(session, actor)]


@router.put("/doctor/consultation-prices")
async def set_own_price(body: PriceSet, session: DbSession, actor: PricingDoctor) -> PriceRead:
    """Set the signed-in doctor's fee for one type at one institution."""
    price = await set_price(
        session,
        actor,
        institution_id=body.institution_id,
        consultation_type=body.consultation_type,
        fee_fen=body.fee_fen,
    )
    return PriceRead.model_validate(price)


@router.get("/institutions/{institution_id}/practitioners/{practitioner_id}/consultation-prices")
async def institution_prices(
    institution_id: InstitutionId,
    practitioner_id: PractitionerId,
    session: DbSession,
    actor: StaffManager,
) -> list[PriceRead]:
    """A doctor's prices at the admin's institution."""
    prices = await list_prices(
        session, actor, practitioner_id=practitioner_id, institution_id=institution_id
    )
    return [PriceRead.model_validate(p) for p in prices]


@router.put("/institutions/{institution_id}/practitioners/{practitioner_id}/consultation-prices")
async def set_institution_price(
    institution_id: InstitutionId,
    practitioner_id: PractitionerId,
    body: InstitutionPriceSet,
    session: DbSession,
    actor: StaffManager,
) -> PriceRead:
    """Set a doctor's fee for one type at the admin's institution."""
    price = await set_price(
        session,
        actor,
        practitioner_id=practitioner_id,
        institution_id=institution_id,
        consultation_type=body.consultation_type,
        fee_fen=body.fee_fen,
    )
    return PriceRead.model_validate(price)


@router.get("/doctors/{practitioner_id}/consultation-prices")
async def public_prices(
    practitioner_id: PractitionerId, session: DbSession, actor: PublicActor
) -> list[PriceRead]:
    """What the doctor offers now, where they may serve online (R05)."""
    prices = await offered_prices(session, actor, practitioner_id=practitioner_id)
    return [PriceRead.model_validate(p) for p in prices]
