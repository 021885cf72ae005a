"""Credential review (资质审核) of doctors (R05).

draft → pending (submitted by the doctor or their institution) → verified or rejected (with a
reason) by an admin of the doctor's registered institution or a platform admin; a rejected record
may be corrected and submitted again; a verified doctor may be suspended (with a reason) and
reinstated. When the institution changes a verified doctor's credentials the record goes back
to review ("revise"). Every step is kept as a :class:`CredentialReview` and audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.access import (
    managed_practitioner,
    may_manage,
    own_practitioner,
    practitioner_not_found,
)
from ihospital.directory.models import CredentialReview, Practitioner
from ihospital.directory.views import PractitionerView, practitioner_view
from ihospital.errors import Conflict, Unprocessable
from ihospital.security.crypto import FieldCipher
from ihospital.security.signing import ensure_signing_key

# decision -> (statuses it may follow, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft", "rejected"}), "pending"),
    "verify": (frozenset({"pending"}), "verified"),
    "reject": (frozenset({"pending"}), "rejected"),
    "suspend": (frozenset({"verified"}), "suspended"),
    "reinstate": (frozenset({"suspended"}), "verified"),
    "revise": (frozenset({"verified"}), "pending"),
}
REFUSAL_MESSAGES = {
    "submit": "Only a draft or rejected record can be submitted for review.",
    "verify": "Only a record awaiting review can be verified.",
    "reject": "Only a record awaiting review can be rejected.",
    "suspend": "Only a verified doctor can be suspended.",
    "reinstate": "Only a suspended doctor can be reinstated.",
    "revise": "Only a verified doctor's changed credentials go back to review.",
}
DECISIONS = ("verify", "reject", "suspend", "reinstate")
REASON_REQUIRED = frozenset({"reject", "suspend"})


async def take_step(
    session: AsyncSession, actor: Actor, *, practitioner: Practitioner, decision: str, note: str
) -> CredentialReview:
    """Move the practitioner along the review workflow, keep the step and audit it."""
    allowed_from, to_status = TRANSITIONS[decision]
    from_status = practitioner.verification_status
    if from_status not in allowed_from:
        raise Conflict(
            "directory.review_step_not_possible",
            REFUSAL_MESSAGES[decision],
            verification_status=from_status,
            decision=decision,
        )
    now = actor.clock.now()
    practitioner.verification_status = to_status
    practitioner.verification_note = note
    if decision == "verify":
        practitioner.verified_at = now
    step = CredentialReview(
        practitioner_id=practitioner.id,
        reviewer_account_id=actor.account_id,
        reviewer_role=actor.role,
        decision=decision,
        from_status=from_status,
        to_status=to_status,
        note=note,
        decided_at=now,
    )
    session.add(step)
    await session.flush()
    await record(
        session,
        actor,
        action=f"practitioner.review.{decision}",
        subject_type="practitioner",
        subject_id=practitioner.id,
        details={"from": from_status, "to": to_status, "note": note},
    )
    return step


async def submit_for_review(
    session: AsyncSession, actor: Actor, *, practitioner_id: int
) -> PractitionerView:
    """Submit a draft or rejected doctor record for credential review: by the doctor's
    institution (or a platform admin), or by the doctor themself (R05)."""
    practitioner = await session.scalar(
        select(Practitioner).where(Practitioner.id == practitioner_id).with_for_update()
    )
    if practitioner is None or not (
        (actor.account_id is not None and practitioner.account_id == actor.account_id)
        or may_manage(actor, practitioner.institution_id)
    ):
        raise practitioner_not_found()
    await take_step(session, actor, practitioner=practitioner, decision="submit", note="")
    return await practitioner_view(session, actor, practitioner=practitioner)


async def submit_own_for_review(session: AsyncSession, actor: Actor) -> PractitionerView:
    """The signed-in doctor submits their own record for credential review (R05)."""
    practitioner = await own_practitioner(session, actor, for_update=True)
    await take_step(session, actor, practitioner=practitioner, decision="submit", note="")
    return await practitioner_view(session, actor, practitioner=practitioner)


async def decide_review(
    session: AsyncSession,
    actor: Actor,
    *,
    practitioner_id: int,
    decision: str,
    note: str = "",
    cipher: FieldCipher | None = None,
) -> PractitionerView:
    """Verify or reject a submitted record, suspend a verified doctor or reinstate a suspended
    one: an admin of the doctor's registered institution or a platform admin. Rejecting and
    suspending need a reason, which the doctor sees (R05). With the field ``cipher``, a doctor
    verified or reinstated gets their signing key now (R06)."""
    if decision not in DECISIONS:
        raise Unprocessable(
            "directory.decision_unknown",
            "Choose one of: verify, reject, suspend, reinstate.",
            field="decision",
        )
    note = note.strip()
    if decision in REASON_REQUIRED and not note:
        raise Unprocessable(
            "directory.reason_required", "Give the reason for this decision.", field="note"
        )
    practitioner = await managed_practitioner(session, actor, practitioner_id, for_update=True)
    await take_step(session, actor, practitioner=practitioner, decision=decision, note=note)
    if cipher is not None and practitioner.verification_status == "verified":
        await ensure_signing_key(session, actor, practitioner_id=practitioner.id, cipher=cipher)
    return await practitioner_view(session, actor, practitioner=practitioner)


async def list_reviews(
    session: AsyncSession, actor: Actor, *, practitioner_id: int
) -> list[CredentialReview]:
    """The review history of a doctor the actor manages, oldest first."""
    await managed_practitioner(session, actor, practitioner_id)
    return list(
        (
            await session.scalars(
                select(CredentialReview)
                .where(CredentialReview.practitioner_id == practitioner_id)
                .order_by(CredentialReview.decided_at, CredentialReview.id)
            )
        ).all()
    )
