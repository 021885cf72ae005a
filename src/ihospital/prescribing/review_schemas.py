"""API shapes of the pharmacist's review (审方) and of the patient's prescriptions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ihospital.consultation.statistics import seconds
from ihospital.core.schemas import Schema
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.patient_prescriptions import PatientPrescription
from ihospital.prescribing.review import NOTE_MAX_LENGTH, Prescriber, QueueEntry, ReviewView
from ihospital.prescribing.review_codes import ReviewReason
from ihospital.prescribing.review_statistics import ReviewFigures
from ihospital.prescribing.schemas import PrescribedItemRead

ReasonCode = Annotated[str, Field(min_length=1, max_length=8)]


class DecisionCreate(Schema):
    """Approve, or reject with one or more reason codes of the review standard (R20)."""

    decision: Literal["approve", "reject"]
    reasons: Annotated[list[ReasonCode], Field(default_factory=list, max_length=28)]
    note: Annotated[str | None, Field(max_length=NOTE_MAX_LENGTH)] = None


class ReasonRead(Schema):
    code: str
    group: str
    text_zh: str
    text_en: str

    @classmethod
    def of(cls, reason: ReviewReason) -> ReasonRead:
        return cls(
            code=reason.code, group=reason.group, text_zh=reason.text_zh, text_en=reason.text_en
        )


class PrescriberRead(Schema):
    practitioner_id: int
    name: str
    title: str

    @classmethod
    def of(cls, prescriber: Prescriber | None) -> PrescriberRead | None:
        if prescriber is None:
            return None
        return cls(
            practitioner_id=prescriber.practitioner_id, name=prescriber.name, title=prescriber.title
        )


def _summary(prescription: Prescription) -> dict[str, Any]:
    names = (
        "id",
        "number",
        "version",
        "status",
        "patient_id",
        "patient_name",
        "patient_sex",
        "patient_age",
        "consultation_id",
        "appointment_id",
        "issued_at",
        "valid_until",
    )
    return {name: getattr(prescription, name) for name in names}


class QueueEntryRead(Schema):
    """A prescription waiting for review and how long it has waited (seconds)."""

    id: int
    number: str
    version: int
    status: str
    patient_id: int
    patient_name: str
    patient_sex: str
    patient_age: str
    consultation_id: int | None
    appointment_id: int | None
    issued_at: datetime
    valid_until: date
    waited_seconds: int
    diagnoses: list[dict[str, Any]]
    prescriber: PrescriberRead | None

    @classmethod
    def of(cls, entry: QueueEntry) -> QueueEntryRead:
        return cls(
            **_summary(entry.prescription),
            waited_seconds=int(entry.waited.total_seconds()),
            diagnoses=entry.prescription.diagnoses,
            prescriber=PrescriberRead.of(entry.prescriber),
        )


class RecordedAllergyRead(Schema):
    """An entry of the 就诊人's structured allergy list."""

    kind: str
    code: str
    reaction: str


class SignatureRead(Schema):
    valid: bool
    content_intact: bool
    signature_valid: bool
    problem: str | None


class PrescriptionReviewRead(QueueEntryRead):
    """One prescription as the pharmacist reviews it, with the decision once taken."""

    emergency: bool
    long_term: bool
    supply_reason: str | None
    validity_days: int
    validity_reason: str | None
    items: list[PrescribedItemRead]
    allergies: str | None  # the allergy text of the latest signed medical record
    recorded_allergies: list[RecordedAllergyRead]
    signature: SignatureRead
    reviewed_at: datetime | None
    rejection_codes: list[str] | None
    review_note: str | None

    @classmethod
    def of_view(cls, view: ReviewView) -> PrescriptionReviewRead:
        p = view.prescription
        names = ("emergency", "long_term", "supply_reason", "validity_days", "validity_reason")
        return cls(
            **_summary(p),
            **{name: getattr(p, name) for name in names},
            waited_seconds=int(view.waited.total_seconds()),
            diagnoses=p.diagnoses,
            prescriber=PrescriberRead.of(view.prescriber),
            items=[PrescribedItemRead.model_validate(item) for item in view.items],
            allergies=view.allergies.record_text or None,
            recorded_allergies=[
                RecordedAllergyRead(kind=a.kind, code=a.code, reaction=a.reaction)
                for a in view.allergies.recorded
            ],
            signature=SignatureRead(
                valid=view.signature.valid,
                content_intact=view.signature.content_intact,
                signature_valid=view.signature.signature_valid,
                problem=view.signature.reason,
            ),
            reviewed_at=p.reviewed_at,
            rejection_codes=p.rejection_codes,
            review_note=p.review_note,
        )


class DecisionRead(Schema):
    id: int
    number: str
    status: str
    reviewed_at: datetime | None
    rejection_codes: list[str] | None
    review_note: str | None

    @classmethod
    def of(cls, prescription: Prescription) -> DecisionRead:
        return cls(**{name: getattr(prescription, name) for name in cls.model_fields})


class ReviewFiguresRead(Schema):
    """Review times in seconds of the prescriptions decided in the last ``days`` Beijing-time
    days (today included), and how many wait now and how many of them are overdue."""

    institution_id: int
    days: int
    count: int
    approved: int
    rejected: int
    median_seconds: int | None
    p90_seconds: int | None
    waiting: int
    overdue: int
    limit_minutes: int

    @classmethod
    def of(cls, figures: ReviewFigures) -> ReviewFiguresRead:
        names = set(cls.model_fields) - {"median_seconds", "p90_seconds"}
        return cls(
            **{name: getattr(figures, name) for name in names},
            median_seconds=seconds(figures.median),
            p90_seconds=seconds(figures.p90),
        )


class PatientPrescriptionRead(Schema):
    """A prescription as its patient sees it: drugs and validity only once approved (R06, R16);
    ``state`` is under_review, being_revised, valid, expired or filled."""

    id: int
    number: str
    patient_id: int
    patient_name: str
    issued_at: datetime
    state: str
    prescriber_name: str | None
    valid_until: date | None
    diagnoses: list[dict[str, Any]]
    items: list[PrescribedItemRead]
    buyable: bool
    order_url: str | None

    @classmethod
    def of(cls, view: PatientPrescription) -> PatientPrescriptionRead:
        p = view.prescription
        return cls(
            id=p.id,
            number=p.number,
            patient_id=p.patient_id,
            patient_name=p.patient_name,
            issued_at=p.issued_at,
            state=view.state,
            prescriber_name=view.prescriber_name,
            valid_until=p.valid_until if view.shows_drugs else None,
            diagnoses=p.diagnoses if view.shows_drugs else [],
            items=[PrescribedItemRead.model_validate(item) for item in view.items],
            buyable=view.buyable,
            order_url=view.order_url,
        )
