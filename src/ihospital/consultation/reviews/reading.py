"""Reading reviews: the patient's own, the doctor's, the institution's held ones and a doctor's
public rating.

The public rating is the average and count of published reviews, computed by one aggregate
query, with the most recent published reviews (the patient's name masked, 张*). Staff reads are
audited (R13).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.lifecycle import own_consultation
from ihospital.consultation.reviews.models import ConsultationReview
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution, own_practitioner

RECENT_PUBLIC = 5
STAFF_PAGE = 100


@dataclass(frozen=True)
class Rating:
    """A doctor's public rating: the average of published reviews' stars (one decimal; None
    without any), their count, and the most recent ones."""

    practitioner_id: int
    average_stars: Decimal | None
    count: int
    recent: list[ConsultationReview]


async def own_review(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> ConsultationReview | None:
    """The review of one of the account's consultations (another account's consultation is not
    found), whatever its status."""
    consultation = await own_consultation(session, actor, consultation_id)
    return await session.scalar(
        select(ConsultationReview).where(ConsultationReview.consultation_id == consultation.id)
    )


async def doctor_rating(session: AsyncSession, *, practitioner_id: int) -> Rating:
    """Public: the doctor's rating from published reviews (two queries whatever their number)."""
    published = (
        ConsultationReview.practitioner_id == practitioner_id,
        ConsultationReview.status == "published",
    )
    count, average = (
        await session.execute(
            select(func.count(ConsultationReview.id), func.avg(ConsultationReview.stars)).where(
                *published
            )
        )
    ).one()
    recent = (
        await session.scalars(
            select(ConsultationReview)
            .where(*published)
            .order_by(ConsultationReview.created_at.desc(), ConsultationReview.id.desc())
            .limit(RECENT_PUBLIC)
        )
    ).all()
    rounded = (
        None
        if average is None
        else Decimal(str(average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    )
    return Rating(practitioner_id, rounded, count, list(recent))


async def _staff_list(
    session: AsyncSession,
    actor: Actor,
    *,
    conditions: Sequence[ColumnElement[bool]],
    newest_first: bool,
    action: str,
    subject_type: str,
    subject_id: int,
) -> list[ConsultationReview]:
    """Up to :data:`STAFF_PAGE` reviews matching ``conditions``, with the read audited."""
    order = (ConsultationReview.created_at, ConsultationReview.id)
    if newest_first:
        order = tuple(column.desc() for column in order)
    reviews = (
        await session.scalars(
            select(ConsultationReview).where(*conditions).order_by(*order).limit(STAFF_PAGE)
        )
    ).all()
    await record(
        session,
        actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details={"review_ids": [review.id for review in reviews]},
    )
    return list(reviews)


async def doctor_reviews(session: AsyncSession, actor: Actor) -> list[ConsultationReview]:
    """The published reviews of the signed-in doctor's consultations, newest first (audited)."""
    doctor = await own_practitioner(session, actor)
    return await _staff_list(
        session,
        actor,
        conditions=(
            ConsultationReview.practitioner_id == doctor.id,
            ConsultationReview.status == "published",
        ),
        newest_first=True,
        action="consultation.reviews_read",
        subject_type="practitioner",
        subject_id=doctor.id,
    )


async def held_reviews(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> list[ConsultationReview]:
    """The held reviews of an institution the actor manages, oldest first (audited)."""
    await managed_institution(session, actor, institution_id)
    return await _staff_list(
        session,
        actor,
        conditions=(
            ConsultationReview.institution_id == institution_id,
            ConsultationReview.status == "held",
        ),
        newest_first=False,
        action="consultation.held_reviews_read",
        subject_type="institution",
        subject_id=institution_id,
    )
