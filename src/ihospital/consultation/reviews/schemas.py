"""API shapes of consultation reviews (评价)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ihospital.consultation.reviews.models import ConsultationReview
from ihospital.consultation.reviews.reading import Rating
from ihospital.consultation.reviews.service import REPLY_MAX_LENGTH, TEXT_MAX_LENGTH
from ihospital.core.schemas import Schema

Tag = Literal["timely", "clear", "kind", "professional", "patient", "helpful"]


class ReviewCreate(Schema):
    """1 to 5 stars, tags of the fixed list and an optional text (personal data is masked)."""

    stars: Annotated[int, Field(ge=1, le=5)]
    tags: Annotated[list[Tag], Field(default_factory=list, max_length=6)]
    text: Annotated[str | None, Field(max_length=TEXT_MAX_LENGTH)] = None


class ReplyCreate(Schema):
    reply: Annotated[str, Field(min_length=1, max_length=REPLY_MAX_LENGTH)]


class ModerationCreate(Schema):
    decision: Literal["approve", "reject"]


class PublicReviewRead(Schema):
    """A published review as everyone sees it: the patient's name masked (张*)."""

    id: int
    patient_name_masked: str
    stars: int
    tags: list[str]
    text: str | None
    created_at: datetime
    reply: str | None
    replied_at: datetime | None

    @classmethod
    def of(cls, review: ConsultationReview) -> PublicReviewRead:
        fields = {name: getattr(review, name) for name in cls.model_fields if name != "tags"}
        return cls(**fields, tags=review.tag_list)


class ReviewRead(PublicReviewRead):
    """A review as its patient, doctor and institution see it; ``status`` is ``published``,
    ``held`` (awaiting the institution's review of its text) or ``rejected``."""

    consultation_id: int
    practitioner_id: int
    institution_id: int
    status: str
    held_words: str | None
    moderated_at: datetime | None


class RatingRead(Schema):
    """A doctor's public rating: average stars of published reviews (None without any), their
    number, and the most recent."""

    practitioner_id: int
    average_stars: Decimal | None
    count: int
    recent: list[PublicReviewRead]

    @classmethod
    def of(cls, rating: Rating) -> RatingRead:
        return cls(
            practitioner_id=rating.practitioner_id,
            average_stars=rating.average_stars,
            count=rating.count,
            recent=[PublicReviewRead.of(review) for review in rating.recent],
        )
