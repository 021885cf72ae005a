"""Checking a prescription's electronic signature (R06) and what it says about its validity (R16).

Anyone holding the paper can check it: its number and the verification code printed under the
QR code (:func:`verification_code`, derived from the signed content's hash, so numbers cannot be
walked through to read prescriptions) give whether the document is still what the doctor signed
and its status, with only what a pharmacy needs to compare with the paper (the patient's name
masked, no ID numbers, no diagnoses). The prescription's patient (once a pharmacist approved it),
its doctor and the pharmacists of its institution get the full check through their accounts.

A check recomputes :func:`~ihospital.prescribing.documents.signed_content` from the rows as they
are now, so an item edited in the database after signing is found (``content_changed``); a
signature that does not hold with the doctor's public key is ``signature_invalid`` (forged); a
key that is missing or is not the prescriber's is ``unknown_key``. Every check is audited (R13).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.access import get_institution_row, own_practitioner, practitioners_by_id
from ihospital.errors import NotFound
from ihospital.identity.patient_cards import mask_name
from ihospital.identity.patients import account_of_patient
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.repository import prescription_items, prescription_not_found
from ihospital.security.models import SigningKey
from ihospital.security.permissions import Role
from ihospital.security.signing import ALGORITHM, canonical_json, sha256_hex, signing_key, verify

VERIFY_PATH = "/verify/prescription"
CODE_LENGTH = 12
REASONS = ("unknown_key", "content_changed", "signature_invalid")
# what the patient may see of a prescription: only one a pharmacist approved (R06)
PATIENT_STATUSES = ("approved", "filled")
FILLABLE_BEFORE_EXPIRY = ("pending_review", "approved")
REASON_MESSAGES = {
    "unknown_key": "The key it was signed with is not a known key of the prescribing doctor.",
    "content_changed": "The prescription was changed after the doctor signed it.",
    "signature_invalid": "The signature does not hold with the doctor's public key: it is forged.",
}
# the encounter a prescription was written in: 门诊 / 线上复诊
ENCOUNTER_MESSAGES = {"in_person": "In-person visit", "online": "Online follow-up"}
STATUS_MESSAGES = {
    "pending_review": "Waiting for pharmacist review",
    "approved": "Approved",
    "rejected": "Rejected",
    "filled": "Filled",
    "voided": "Voided",
    "expired": "Expired",
}


def verification_code(prescription: Prescription) -> str:
    """``ABCD-EFGH-JKLM``: 12 base32 characters of a hash of the number and the signed content's
    SHA-256, which nobody can work out from the number alone."""
    message = f"prescription-verification|{prescription.number}|{prescription.content_sha256}"
    code = base64.b32encode(hashlib.sha256(message.encode()).digest()).decode()[:CODE_LENGTH]
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def verification_path(prescription: Prescription) -> str:
    """The path of the public page that checks ``prescription`` (linked from its pages)."""
    query = urlencode({"number": prescription.number, "code": verification_code(prescription)})
    return f"{VERIFY_PATH}?{query}"


def verification_url(base_url: str, prescription: Prescription) -> str:
    """The public page that checks ``prescription`` (what its QR code holds)."""
    return f"{base_url.rstrip('/')}{verification_path(prescription)}"


def key_fingerprint(public_key: str) -> str:
    """The first 16 bytes of the SHA-256 of the raw public key, in groups of four hex digits."""
    digest = hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def current_status(prescription: Prescription, today: date) -> str:
    """The status with R16 applied: an unfilled prescription is ``expired`` after the
    Asia/Shanghai day ``valid_until``."""
    if prescription.status in FILLABLE_BEFORE_EXPIRY and today > prescription.valid_until:
        return "expired"
    return prescription.status


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of recomputing the signed document and checking its signature."""

    key: SigningKey | None
    recomputed_sha256: str
    content_intact: bool
    signature_valid: bool

    @property
    def key_known(self) -> bool:
        return self.key is not None

    @property
    def reason(self) -> str | None:
        """Why the prescription is not valid (one of :data:`REASONS`), None when it is."""
        if not self.key_known:
            return "unknown_key"
        if not self.content_intact:
            return "content_changed"
        return None if self.signature_valid else "signature_invalid"

    @property
    def valid(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Verification:
    """A checked prescription with its items, institution and doctor as they stand."""

    prescription: Prescription
    items: list[PrescriptionItem]
    institution_name: str
    doctor_name: str
    check: SignatureCheck
    status: str
    code: str

    @property
    def encounter(self) -> str:
        """``in_person`` for a visit's prescription, ``online`` for a consultation's (a key of
        :data:`ENCOUNTER_MESSAGES`)."""
        return "online" if self.prescription.appointment_id is None else "in_person"

    @property
    def masked_patient_name(self) -> str:
        return mask_name(self.prescription.patient_name)

    @property
    def fingerprint(self) -> str | None:
        return key_fingerprint(self.check.key.public_key) if self.check.key else None

    @property
    def algorithm(self) -> str:
        return ALGORITHM

    @property
    def issued_at(self) -> datetime:
        return self.prescription.issued_at


async def check_signature(
    session: AsyncSession, prescription: Prescription, items: Sequence[PrescriptionItem]
) -> SignatureCheck:
    """Recompute the signed document from the rows and check it against the stored hash and
    the prescriber's public key (R06)."""
    message = canonical_json(signed_content(prescription, items))
    key = await signing_key(session, key_id=prescription.signing_key_id)
    if key is not None and key.practitioner_id != prescription.prescriber_id:
        key = None  # another doctor's key never vouches for this prescriber
    recomputed = sha256_hex(message)
    return SignatureCheck(
        key=key,
        recomputed_sha256=recomputed,
        content_intact=recomputed == prescription.content_sha256,
        signature_valid=key is not None
        and verify(key.public_key, message=message, signature=prescription.signature),
    )


async def _verification(
    session: AsyncSession, actor: Actor, prescription: Prescription
) -> Verification:
    items = await prescription_items(session, prescription.id)
    institution = await get_institution_row(session, prescription.institution_id)
    doctor = (await practitioners_by_id(session, [prescription.prescriber_id]))[
        prescription.prescriber_id
    ]
    return Verification(
        prescription=prescription,
        items=items,
        institution_name=institution.name,
        doctor_name=doctor.name,
        check=await check_signature(session, prescription, items),
        status=current_status(prescription, actor.clock.today_local()),
        code=verification_code(prescription),
    )


async def _audit(
    session: AsyncSession, actor: Actor, verification: Verification, *, public: bool
) -> None:
    prescription = verification.prescription
    await record(
        session,
        actor,
        action="prescription.verified",
        subject_type="prescription",
        subject_id=prescription.id,
        patient_id=prescription.patient_id,
        details={
            "number": prescription.number,
            "public": public,
            "valid": verification.check.valid,
            "reason": verification.check.reason,
            "status": verification.status,
        },
    )


def unknown_for_verification() -> NotFound:
    return NotFound(
        "prescribing.verification_unknown",
        "No prescription has this number and verification code. Check both against the paper.",
    )


async def verify_public(
    session: AsyncSession, actor: Actor, *, number: str, code: str
) -> Verification | None:
    """Check the prescription ``number`` for anyone who holds it with its ``code`` (R06, R16);
    None when the number is unknown or the code wrong (one answer for both, so the one does not
    reveal the other). Every attempt is audited (R13)."""
    prescription = await session.scalar(
        select(Prescription).where(Prescription.number == number.strip())
    )
    if prescription is None or not hmac.compare_digest(
        _normalised(verification_code(prescription)), _normalised(code)
    ):
        await record(
            session,
            actor,
            action="prescription.verification_refused",
            subject_type="prescription",
            subject_id=prescription.id if prescription is not None else "-",
            details={"number": number[:32]},
        )
        return None
    verification = await _verification(session, actor, prescription)
    await _audit(session, actor, verification, public=True)
    return verification


async def _may_read(session: AsyncSession, actor: Actor, prescription: Prescription) -> bool:
    if actor.role == Role.PATIENT:
        return prescription.status in PATIENT_STATUSES and actor.account_id == (
            await account_of_patient(session, patient_id=prescription.patient_id)
        )
    if actor.role == Role.DOCTOR:
        return (await own_practitioner(session, actor)).id == prescription.prescriber_id
    return actor.role == Role.PHARMACIST and actor.institution_id == prescription.institution_id


async def readable_prescription(
    session: AsyncSession, actor: Actor, *, prescription_id: int
) -> Prescription:
    """A prescription the actor may read in full: its patient's account once it is approved
    (R06), its doctor, a pharmacist of its institution. Any other is not found."""
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None or not await _may_read(session, actor, prescription):
        raise prescription_not_found(prescription_id)
    return prescription


async def verify_for_reader(
    session: AsyncSession, actor: Actor, *, prescription_id: int
) -> Verification:
    """The full check of a prescription for its patient, doctor or institution's pharmacists
    (hashes, key and fingerprint; audited)."""
    prescription = await readable_prescription(session, actor, prescription_id=prescription_id)
    verification = await _verification(session, actor, prescription)
    await _audit(session, actor, verification, public=False)
    return verification


async def verification_of(
    session: AsyncSession, actor: Actor, *, prescription: Prescription
) -> Verification:
    """The check of a prescription the caller has already read (the printed PDF shows it),
    audited by the caller's own entry."""
    return await _verification(session, actor, prescription)
