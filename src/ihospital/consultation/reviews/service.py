"""Rating a closed consultation, the doctor's reply and the institution's moderation (评价).

The account that started a consultation rates it once it is closed (closed → rated): 1–5 stars,
tags of :data:`.models.TAGS` and an optional text whose personal data is masked before it is
stored. Text with words of the abusive list is held until the consultation's institution
approves or rejects it; only published reviews are public. The doctor replies once. Every change
is audited and published as an event (R13).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.events import transition
from ihospital.consultation.lifecycle import own_consultation
from ihospital.consultation.models import Consultation
from ihospital.consultation.reviews.models import TAGS, ConsultationReview
from ihospital.consultation.reviews.text import abusive_words, mask_personal_data
from ihospital.core.context import Actor
from ihospital.directory.access import may_manage, own_practitioner
from ihospital.directory.validation import is_long_text
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.patient_cards import mask_name

REVIEWED = "consultation.reviewed"
REVIEW_MODERATED = "consultation.review_moderated"
REVIEW_REPLIED = "consultation.review_replied"
REVIEW_TOPICS = (REVIEWED, REVIEW_MODERATED, REVIEW_REPLIED)
TEXT_MAX_LENGTH = 500
REPLY_MAX_LENGTH = 500
MAX_TAGS = len(TAGS)
DECISIONS = {"approve": "published", "reject": "rejected"}
STARS_MESSAGE = "Give 1 to 5 stars."
TAGS_MESSAGE = "Choose tags from the list only."
REVIEW_TEXT_MESSAGE = "Write at most {limit} characters, without control characters."
REPLY_MESSAGE = "Write the reply in 1 to {limit} characters, without control characters."
DECISION_MESSAGE = "Approve or reject the review."


def review_not_found(review_id: int) -> NotFound:
    return NotFound("review.not_found", "Review {review_id} was not found.", review_id=review_id)


def _checked_stars(stars: int) -> int:
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise Unprocessable("review.stars_invalid", STARS_MESSAGE, field="stars")
    return stars


def _checked_tags(tags: Sequence[str]) -> str:
    if any(tag not in TAGS for tag in tags):
        raise Unprocessable("review.tag_unknown", TAGS_MESSAGE, field="tags")
    return ",".join(tag for tag in TAGS if tag in tags)


def checked_text(
    text: str | None, *, field: str, limit: int, required: bool, message: str
) -> str | None:
    """``text`` stripped, within ``limit`` and without control characters; empty is None unless
    ``required``."""
    text = (text or "").strip()
    if not text and not required:
        return None
    if not 1 <= len(text) <= limit or not is_long_text(text):
        raise Unprocessable(f"review.{field}_invalid", message, field=field, limit=limit)
    return text


async def rate_consultation(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    stars: int,
    tags: Sequence[str] = (),
    text: str | None = None,
) -> ConsultationReview:
    """Rate one of the account's closed consultations, once (another account's is not found).
    Personal data in the text is masked; abusive text is held for the institution."""
    stars, tag_codes = _checked_stars(stars), _checked_tags(tags)
    text = checked_text(
        text, field="text", limit=TEXT_MAX_LENGTH, required=False, message=REVIEW_TEXT_MESSAGE
    )
    consultation = await own_consultation(session, actor, consultation_id, for_update=True)
    if consultation.status != "closed":
        raise Conflict(
            "review.not_closed",
            "Only a closed consultation can be rated.",
            consultation_status=consultation.status,
        )
    if consultation.rated_at is not None:
        raise _already_rated()
    if text is not None:
        names = (consultation.patient_name, consultation.guardian_name)
        text = mask_personal_data(text, names=names)
    held = abusive_words(text or "")
    now = actor.clock.now()
    review = ConsultationReview(
        consultation_id=consultation.id,
        account_id=consultation.account_id,
        patient_id=consultation.patient_id,
        practitioner_id=consultation.practitioner_id,
        institution_id=consultation.institution_id,
        patient_name_masked=mask_name(consultation.patient_name),
        stars=stars,
        tags=tag_codes,
        text=text,
        status="held" if held else "published",
        held_words=",".join(held)[:200] or None,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(review)
    except IntegrityError:
        raise _already_rated() from None
    consultation.rated_at = now
    await _changed(session, actor, consultation, review, topic=REVIEWED, stars=stars)
    return review


def _already_rated() -> Conflict:
    return Conflict("review.already_rated", "This consultation has already been rated.")


async def _changed(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    review: ConsultationReview,
    *,
    topic: str,
    **details: object,
) -> None:
    await transition(
        session,
        actor,
        consultation,
        topic=topic,
        review_id=review.id,
        review_status=review.status,
        **details,
    )


async def _locked_review(session: AsyncSession, review_id: int) -> ConsultationReview | None:
    return await session.scalar(
        select(ConsultationReview)
        .where(ConsultationReview.id == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def reply_to_review(
    session: AsyncSession, actor: Actor, *, review_id: int, reply: str
) -> ConsultationReview:
    """The doctor of the consultation replies to its review, once (a review of another doctor's
    consultation is not found; one held or rejected cannot be replied to)."""
    doctor = await own_practitioner(session, actor)
    review = await _locked_review(session, review_id)
    if review is None or review.practitioner_id != doctor.id:
        raise review_not_found(review_id)
    reply = checked_text(
        reply, field="reply", limit=REPLY_MAX_LENGTH, required=True, message=REPLY_MESSAGE
    )
    if review.reply is not None:
        raise Conflict("review.already_replied", "You have already replied to this review.")
    if review.status != "published":
        raise Conflict("review.not_published", "Only a published review can be replied to.")
    consultation = await session.get(Consultation, review.consultation_id)
    review.reply = mask_personal_data(
        reply, names=(consultation.patient_name, consultation.guardian_name)
    )
    review.replied_at = actor.clock.now()
    await _changed(session, actor, consultation, review, topic=REVIEW_REPLIED)
    return review


async def moderate_review(
    session: AsyncSession, actor: Actor, *, review_id: int, decision: str
) -> ConsultationReview:
    """The institution approves (publishes) or rejects a held review of one of its
    consultations; a review of another institution is not found."""
    if decision not in DECISIONS:
        raise Unprocessable("review.decision_invalid", DECISION_MESSAGE, field="decision")
    review = await _locked_review(session, review_id)
    if review is None or not may_manage(actor, review.institution_id):
        raise review_not_found(review_id)
    if review.status != "held":
        raise Conflict(
            "review.not_held",
            "Only a held review can be approved or rejected.",
            review_status=review.status,
        )
    review.status = DECISIONS[decision]
    review.moderated_at = actor.clock.now()
    review.moderated_by_account_id = actor.account_id
    consultation = await session.get(Consultation, review.consultation_id)
    await _changed(session, actor, consultation, review, topic=REVIEW_MODERATED, decision=decision)
    return review
