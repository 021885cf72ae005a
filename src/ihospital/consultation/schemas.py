"""API shapes of online consultation. Times go out as UTC instants; fees in fen."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from ihospital.consultation.events import is_diagnostic
from ihospital.consultation.lifecycle import COMPLAINT_MAX_LENGTH, PriorDiagnosis
from ihospital.consultation.models import Consultation
from ihospital.consultation.prices import MAX_FEE_FEN
from ihospital.consultation.workstation import ADVICE_MAX_LENGTH
from ihospital.core.i18n import gettext
from ihospital.core.schemas import Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
ConsultationType = Literal["text", "voice", "video"]
Fee = Annotated[int, Field(ge=0, le=MAX_FEE_FEN)]
HEALTH_CONSULTATION_MESSAGE = (
    "Health consultation: advice only, no diagnosis and no prescription. A follow-up "
    "visit needs an earlier offline diagnosis confirmed by the doctor."
)


class PriceSet(Schema):
    """A doctor sets their own fee for one type at one institution."""

    institution_id: Id
    consultation_type: ConsultationType
    fee_fen: Fee


class InstitutionPriceSet(Schema):
    """An institution's admin sets a doctor's fee there for one type."""

    consultation_type: ConsultationType
    fee_fen: Fee


class PriceRead(Schema):
    practitioner_id: int
    institution_id: int
    consultation_type: str
    fee_fen: int
    updated_at: datetime


class PriorDiagnosisIn(Schema):
    """The earlier offline diagnosis: where, when and what (R01)."""

    institution: Annotated[str, Field(min_length=1, max_length=128)]
    diagnosed_on: date
    diagnosis: Annotated[str, Field(min_length=1, max_length=500)]

    def value(self) -> PriorDiagnosis:
        return PriorDiagnosis(self.institution, self.diagnosed_on, self.diagnosis)


class ConsultationCreate(Schema):
    """Start a consultation for one of the account's 就诊人 at an institution with a doctor, or
    with the first available doctor of a department; ``scheduled_at`` books a time for a video
    consultation."""

    patient_id: Id
    practitioner_id: Id | None = None
    department_code: Annotated[str, Field(min_length=1, max_length=8)] | None = None
    institution_id: Id
    consultation_type: ConsultationType
    complaint: Annotated[str, Field(min_length=1, max_length=COMPLAINT_MAX_LENGTH)]
    prior_diagnosis: PriorDiagnosisIn | None = None
    scheduled_at: AwareDatetime | None = None
    campaign_id: Id | None = None  # 义诊: free, in the campaign's places of the day


class GuardianConfirm(Schema):
    """The guardian present with a child under 6 (R11)."""

    guardian_name: Annotated[str, Field(min_length=1, max_length=64)]
    relationship: Annotated[str, Field(min_length=1, max_length=16)]
    id_number: Annotated[str, Field(min_length=1, max_length=18)]


class AccompanyingDoctor(Schema):
    """The doctor of paediatrics accompanying a child under 6 (R11)."""

    practitioner_id: Id


class TransferCreate(Schema):
    practitioner_id: Id


class CloseCreate(Schema):
    """The doctor's closing advice; ``visit_in_person`` ends with advice to be seen in person."""

    advice: Annotated[str, Field(min_length=1, max_length=ADVICE_MAX_LENGTH)]
    visit_in_person: bool = False


class ConsultationRead(Schema):
    """A consultation. ``kind`` says whether it is diagnostic (an earlier diagnosis confirmed by
    the doctor) or a health consultation, with ``notice`` explaining the latter; ``booking_link``
    leads to the doctor's schedule when they advised a visit in person."""

    id: int
    patient_id: int
    practitioner_id: int
    institution_id: int
    consultation_type: str
    status: str
    complaint: str
    fee_fen: int
    order_id: int | None
    patient_name: str
    patient_sex: str
    patient_age: int
    kind: Literal["diagnostic", "health_consultation"]
    notice: str | None
    prior_diagnosis: PriorDiagnosisIn | None
    prior_confirmed_at: datetime | None
    guardian_required: bool
    guardian_name: str | None
    guardian_relationship: str | None
    guardian_id_number_masked: str | None
    guardian_confirmed_at: datetime | None
    accompanying_practitioner_id: int | None
    scheduled_at: datetime | None
    created_at: datetime
    waiting_since: datetime | None
    accept_by: datetime | None
    accepted_at: datetime | None
    ended_at: datetime | None
    close_reason: str | None
    cancel_reason: str | None
    advice: str | None
    rated_at: datetime | None
    booking_link: str | None
    campaign_id: int | None

    @classmethod
    def of(cls, consultation: Consultation) -> ConsultationRead:
        diagnostic = is_diagnostic(consultation)
        prior = None
        if consultation.prior_diagnosis is not None:
            prior = PriorDiagnosisIn(
                institution=consultation.prior_institution,
                diagnosed_on=consultation.prior_diagnosed_on,
                diagnosis=consultation.prior_diagnosis,
            )
        in_person = consultation.close_reason == "in_person"
        return cls(
            **{
                name: getattr(consultation, name)
                for name in cls.model_fields
                if name not in ("kind", "notice", "prior_diagnosis", "booking_link")
            },
            kind="diagnostic" if diagnostic else "health_consultation",
            notice=None if diagnostic else gettext(HEALTH_CONSULTATION_MESSAGE),
            prior_diagnosis=prior,
            booking_link=(
                f"/doctors/{consultation.practitioner_id}/schedule" if in_person else None
            ),
        )


class ResponsePeriodRead(Schema):
    """A doctor's response-time figures over the last ``days`` Shanghai days (from ``since``);
    durations in seconds, ``None`` when there is nothing to measure."""

    days: int
    since: datetime
    accepted: int
    accept_median_seconds: int | None
    accept_p90_seconds: int | None
    first_reply_median_seconds: int | None
    within_limit_share: float | None
    closed: int
