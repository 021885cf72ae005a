"""Outbox handlers of reviews: the patient's account is told of the doctor's reply and of the
institution's decision on a held review; a new review needs nothing after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.reviews.service import REVIEW_MODERATED, REVIEW_REPLIED, REVIEWED
from ihospital.core.context import Actor
from ihospital.notifications.service import notify
from ihospital.outbox.service import handles

PATIENT_MESSAGES = {
    (REVIEW_REPLIED, "published"): (
        "The doctor replied to your review",
        "The doctor has replied to your review of the consultation.",
    ),
    (REVIEW_MODERATED, "published"): (
        "Your review is published",
        "The hospital has checked your review and published it.",
    ),
    (REVIEW_MODERATED, "rejected"): (
        "Your review was not published",
        "The hospital has checked your review and will not publish it.",
    ),
}


@handles(REVIEWED)
@handles(REVIEW_MODERATED)
@handles(REVIEW_REPLIED)
async def tell_patient(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A 站内信 to the account that rated the consultation, when there is news for it."""
    told = PATIENT_MESSAGES.get((payload["topic"], payload.get("review_status")))
    if told is None:
        return
    title, body = told
    await notify(
        session,
        actor,
        account_id=payload["account_id"],
        kind="consultation",
        title=title,
        body=body,
        link=f"/consultations/{payload['consultation_id']}/review",
    )
