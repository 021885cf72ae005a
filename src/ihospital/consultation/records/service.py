"""Writing and signing a consultation's medical record (电子病历), and amending it.

Only the consultation's doctor writes, and only for a diagnostic consultation (R01: a health
consultation has no diagnosis). The record gives the chief complaint, present illness, past
history, allergies, at least one diagnosis of the ICD-10 seed, and advice; the doctor signs the
canonical JSON of that content with their Ed25519 key (R06). A signed version never changes: an
amendment is a new version that names the one it replaces, which is kept (R12). Every version is
audited and published as ``consultation.record_signed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.events import RECORD_SIGNED, is_diagnostic, transition
from ihospital.consultation.models import Consultation
from ihospital.consultation.records.diagnoses import Diagnosis, checked_diagnoses
from ihospital.consultation.records.models import MedicalRecord, MedicalRecordDiagnosis
from ihospital.consultation.records.repository import latest_record
from ihospital.consultation.states import wrong_status
from ihospital.consultation.workstation import ADVICE_MAX_LENGTH, assigned_consultation
from ihospital.core.context import Actor
from ihospital.directory.validation import is_long_text
from ihospital.errors import Conflict, Unprocessable
from ihospital.security.crypto import FieldCipher
from ihospital.security.signing import canonical_json, sha256_hex, sign

TEXT_LIMITS = {
    "chief_complaint": 500,
    "present_illness": 4000,
    "past_history": 2000,
    "allergies": 500,
    "advice": ADVICE_MAX_LENGTH,
}
RECORD_TEXT_MESSAGE = (
    "Fill in this part of the record in 1 to {limit} characters, without control characters."
)


@dataclass(frozen=True)
class RecordContent:
    """What the doctor writes; ``allergies`` is always stated (``无`` when there are none)."""

    chief_complaint: str
    present_illness: str
    past_history: str
    allergies: str
    advice: str
    diagnosis_codes: tuple[str, ...]


def _checked_texts(content: RecordContent) -> dict[str, str]:
    texts = {}
    for field, limit in TEXT_LIMITS.items():
        text = getattr(content, field).strip()
        if not 1 <= len(text) <= limit or not is_long_text(text):
            raise Unprocessable(
                "record.text_invalid", RECORD_TEXT_MESSAGE, field=field, limit=limit
            )
        texts[field] = text
    return texts


def signed_content(record: MedicalRecord, diagnoses: list[Diagnosis]) -> dict[str, Any]:
    """The document the doctor signs: everything the record says, who signed it and when."""
    return {
        "consultation_id": record.consultation_id,
        "patient_id": record.patient_id,
        "version": record.version,
        "previous_version_id": record.previous_version_id,
        **{field: getattr(record, field) for field in TEXT_LIMITS},
        "diagnoses": [{"code": d.code, "name": d.name} for d in diagnoses],
        "signed_by": record.signed_by,
        "signed_at": record.signed_at.astimezone(UTC).isoformat(),
    }


async def _previous_version(
    session: AsyncSession, consultation: Consultation, amends: int | None
) -> MedicalRecord | None:
    """The version an amendment replaces (None for the first record), refusing anything but
    the first record of a consultation in progress or an amendment of the latest version."""
    latest = await latest_record(session, consultation.id)
    if latest is None:
        if amends is not None:
            raise Unprocessable(
                "record.nothing_to_amend",
                "This consultation has no signed record to amend yet.",
                field="amends",
            )
        if consultation.status != "in_progress":
            raise wrong_status(consultation)
        return None
    if amends is None:
        raise Conflict(
            "record.already_signed",
            "The record is signed and cannot be changed; amend it to write a new version.",
            record_id=latest.id,
        )
    if amends != latest.id:
        raise Conflict(
            "record.not_latest",
            "Only the latest version ({record_id}) of the record can be amended.",
            record_id=latest.id,
        )
    return latest


async def sign_record(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    content: RecordContent,
    cipher: FieldCipher,
    amends: int | None = None,
) -> tuple[MedicalRecord, list[Diagnosis]]:
    """Write and sign the record of a diagnostic consultation assigned to the doctor (R01, R06);
    with ``amends`` (the latest version's id), a new version replacing it (R12). The first
    record needs the consultation in progress; an amendment may follow its closing."""
    consultation = await assigned_consultation(session, actor, consultation_id)
    if not is_diagnostic(consultation):
        raise Conflict(
            "record.not_diagnostic",
            "A health consultation gives advice only: it has no diagnosis and no medical record.",
        )
    if consultation.status not in ("in_progress", "closed"):
        raise wrong_status(consultation)
    previous = await _previous_version(session, consultation, amends)
    texts = _checked_texts(content)
    diagnoses = await checked_diagnoses(session, content.diagnosis_codes)
    record = MedicalRecord(
        consultation_id=consultation.id,
        patient_id=consultation.patient_id,
        version=1 if previous is None else previous.version + 1,
        previous_version_id=None if previous is None else previous.id,
        **texts,
        signed_by=consultation.practitioner_id,
        signed_at=actor.clock.now(),
    )
    message = canonical_json(signed_content(record, diagnoses))
    signature = await sign(
        session, actor, practitioner_id=record.signed_by, message=message, cipher=cipher
    )
    record.content_sha256 = sha256_hex(message)
    record.signing_key_id = signature.key_id
    record.signature = signature.value
    session.add(record)
    await session.flush()
    session.add_all(
        MedicalRecordDiagnosis(record_id=record.id, position=i, code=d.code, name=d.name)
        for i, d in enumerate(diagnoses, start=1)
    )
    await transition(
        session,
        actor,
        consultation,
        topic=RECORD_SIGNED,
        record_id=record.id,
        version=record.version,
        diagnoses=[d.code for d in diagnoses],
        content_sha256=record.content_sha256,
    )
    return record, diagnoses
