"""JSON routes of prescription verification (R06, R16) and the printable prescription.

``GET /api/prescription-verification`` is public (a pharmacy checks a paper prescription by its
number and verification code; rate limited per client IP) and shows only masked data. The
prescription's patient, doctor and the pharmacists of its institution get the full check and
the PDF; to anyone else the prescription does not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.core.i18n import gettext
from ihospital.core.ratelimit import admit
from ihospital.core.schemas import Schema
from ihospital.deps import DbSession, client_ip, optional_actor, require
from ihospital.prescribing.printing import print_prescription
from ihospital.prescribing.verification import (
    REASON_MESSAGES,
    STATUS_MESSAGES,
    Verification,
    unknown_for_verification,
    verification_url,
    verify_for_reader,
    verify_public,
)
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["prescription verification"])
TOO_MANY_CHECKS_MESSAGE = "Too many prescription checks. Try again in {retry_after} seconds."

Reader = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]
PrescriptionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Number = Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
Code = Annotated[str, Query(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]+$")]
Reason = Literal["unknown_key", "content_changed", "signature_invalid"]
Status = Literal["pending_review", "approved", "rejected", "filled", "voided", "expired"]


async def admit_verification(request: Request) -> None:
    """Refuse a public check past the client IP's rate (numbers and codes are not to be
    guessed by brute force)."""
    settings = request.app.state.settings
    await admit(
        request.app.state.rate_limiter,
        f"prescription-verification:ip:{client_ip(request)}",
        limit=settings.prescription_verification_rate_per_ip,
        window_seconds=settings.prescription_verification_rate_window_seconds,
        code="prescribing.too_many_verifications",
        message=TOO_MANY_CHECKS_MESSAGE,
    )


def verify_base_url(request: Request) -> str:
    """Where the verification page is served: ``IHOSPITAL_BASE_URL``, else this request's."""
    return request.app.state.settings.base_url or str(request.base_url)


class VerifiedItemRead(Schema):
    drug_name: str
    quantity: int
    quantity_unit: str


class PublicVerificationRead(Schema):
    """``valid`` when the prescription is what its doctor signed; else ``reason`` says why.
    ``status`` is its state with R16 applied (``expired`` after ``valid_until``); ``encounter``
    the visit it was written in (门诊 ``in_person`` or 线上复诊 ``online``). The patient's
    name is masked; nothing else about the patient is shown."""

    number: str
    valid: bool
    reason: Reason | None
    reason_text: str | None
    status: Status
    status_text: str
    institution_name: str
    doctor_name: str
    encounter: Literal["in_person", "online"]
    patient_name: str
    issued_on: date
    valid_until: date
    items: list[VerifiedItemRead]

    @classmethod
    def fields_of(cls, verification: Verification, *, patient_name: str) -> dict:
        prescription, reason = verification.prescription, verification.check.reason
        return {
            "number": prescription.number,
            "valid": verification.check.valid,
            "reason": reason,
            "reason_text": gettext(REASON_MESSAGES[reason]) if reason else None,
            "status": verification.status,
            "status_text": gettext(STATUS_MESSAGES[verification.status]),
            "institution_name": verification.institution_name,
            "doctor_name": verification.doctor_name,
            "encounter": verification.encounter,
            "patient_name": patient_name,
            "issued_on": to_local(prescription.issued_at).date(),
            "valid_until": prescription.valid_until,
            "items": [VerifiedItemRead.model_validate(item) for item in verification.items],
        }

    @classmethod
    def of(cls, verification: Verification) -> PublicVerificationRead:
        return cls(**cls.fields_of(verification, patient_name=verification.masked_patient_name))


class FullVerificationRead(PublicVerificationRead):
    """The full check for the prescription's readers: the patient's name, whether the stored
    hash still matches the content (``content_intact``), whether the signature holds with the
    key (``signature_valid``), the key, its fingerprint and the verification code and page."""

    prescription_id: int
    content_intact: bool
    signature_valid: bool
    key_known: bool
    algorithm: str
    public_key: str | None
    key_fingerprint: str | None
    content_sha256: str
    recomputed_sha256: str
    signed_at: datetime
    verification_code: str
    verification_url: str

    @classmethod
    def full(cls, verification: Verification, *, base_url: str) -> FullVerificationRead:
        prescription, check = verification.prescription, verification.check
        return cls(
            **cls.fields_of(verification, patient_name=prescription.patient_name),
            prescription_id=prescription.id,
            content_intact=check.content_intact,
            signature_valid=check.signature_valid,
            key_known=check.key_known,
            algorithm=verification.algorithm,
            public_key=check.key.public_key if check.key else None,
            key_fingerprint=verification.fingerprint,
            content_sha256=prescription.content_sha256,
            recomputed_sha256=check.recomputed_sha256,
            signed_at=prescription.issued_at,
            verification_code=verification.code,
            verification_url=verification_url(base_url, prescription),
        )


@router.get(
    "/prescription-verification",
    responses={404: {"description": "No prescription has this number and code"}, 429: {}},
)
async def check_prescription(
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(optional_actor)],
    number: Number,
    code: Code,
) -> PublicVerificationRead:
    """Check a paper prescription by its number and the verification code under its QR code
    (no sign-in): whether it is what the doctor signed, its status, and masked details."""
    await admit_verification(request)
    verification = await verify_public(session, actor, number=number, code=code)
    if verification is None:
        await session.commit()  # the refused attempt stays in the audit trail
        raise unknown_for_verification()
    return PublicVerificationRead.of(verification)


@router.get("/prescriptions/{prescription_id}/verification")
async def verify_prescription(
    prescription_id: PrescriptionId, request: Request, session: DbSession, actor: Reader
) -> FullVerificationRead:
    """The full signature check of a prescription for its patient (once approved), its doctor
    or a pharmacist of its institution."""
    verification = await verify_for_reader(session, actor, prescription_id=prescription_id)
    return FullVerificationRead.full(verification, base_url=verify_base_url(request))


@router.get(
    "/prescriptions/{prescription_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The 处方笺 as PDF"}},
)
async def prescription_pdf(
    prescription_id: PrescriptionId, request: Request, session: DbSession, actor: Reader
) -> Response:
    """The printable prescription (处方笺) with its verification QR code, for its patient once
    approved, its doctor and the pharmacists of its institution."""
    pdf = await print_prescription(
        session, actor, prescription_id=prescription_id, base_url=verify_base_url(request)
    )
    return Response(
        pdf.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{pdf.filename}"',
            "Cache-Control": "no-store",
        },
    )
