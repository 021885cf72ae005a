"""Checking a prescription again each time it is used: when its drugs are ordered and when they
are dispensed (发药).

The signature is checked as the verification page checks it
(:func:`ihospital.prescribing.verification.check_signature`, R06): a prescription whose rows were
changed after the doctor signed them, whose signature does not hold or whose key is not the
doctor's cannot be filled. Its validity is checked on the Asia/Shanghai day (R16): expired, it
cannot be filled either. A refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.errors import Conflict, RuleViolation
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.repository import prescription_items
from ihospital.prescribing.verification import check_signature

REFUSAL_MESSAGES = {
    "unknown_key": (
        "Prescription {number} cannot be filled: the key it was signed with is not a known key "
        "of its doctor."
    ),
    "content_changed": (
        "Prescription {number} cannot be filled: it was changed after the doctor signed it."
    ),
    "signature_invalid": (
        "Prescription {number} cannot be filled: its signature does not hold with the doctor's "
        "public key."
    ),
}


async def check_usable(
    session: AsyncSession,
    actor: Actor,
    prescription: Prescription,
    items: Sequence[PrescriptionItem] | None = None,
) -> None:
    """Refuse a prescription that expired (R16) or is no longer what its doctor signed (R06).
    ``items`` are its items when the caller has read them already."""
    if actor.clock.today_local() > prescription.valid_until:
        raise RuleViolation(
            "R16",
            "This prescription expired on {valid_until}; ask the doctor for a new one.",
            valid_until=prescription.valid_until.isoformat(),
        )
    if items is None:
        items = await prescription_items(session, prescription.id)
    check = await check_signature(session, prescription, items)
    if check.reason is not None:
        raise Conflict(
            "pharmacy.prescription_not_authentic",
            REFUSAL_MESSAGES[check.reason],
            number=prescription.number,
            reason=check.reason,
        )
