"""Tables of 义诊 (free-clinic campaigns).

A campaign is an institution's offer of free online consultations: its doctors, departments and
consultation types, from ``starts_on`` to ``ends_on`` (Asia/Shanghai dates), with at most
``daily_quota`` consultations per doctor and day. The places of one doctor on one day are counted
in one :class:`CampaignDay` row, taken by a conditional UPDATE (``taken < quota``), so concurrent
starts never overbook; a cancelled consultation gives its place back.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

STATUSES = ("active", "ended")


class Campaign(IdMixin, Base):
    """义诊 of an institution; ``consultation_types`` lists the types offered, comma-separated in
    the order text, voice, video. An ended campaign (``ended_at``) takes no more patients."""

    __tablename__ = "consultation_campaigns"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("daily_quota >= 1", name="quota_positive"),
        CheckConstraint("status IN ('active','ended')", name="status_known"),
        Index("ix_consultation_campaigns_institution_ends_on", "institution_id", "ends_on"),
    )

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    consultation_types: Mapped[str] = mapped_column(String(32))
    daily_quota: Mapped[int]
    status: Mapped[str] = mapped_column(String(8))
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    @property
    def types(self) -> list[str]:
        return self.consultation_types.split(",")


class CampaignDoctor(IdMixin, Base):
    """A doctor who consults for free in the campaign."""

    __tablename__ = "consultation_campaign_doctors"
    __table_args__ = (
        Index(
            "uq_consultation_campaign_doctors_campaign_practitioner",
            "campaign_id",
            "practitioner_id",
            unique=True,
        ),
    )

    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("consultation_campaigns.id"))
    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))


class CampaignDepartment(IdMixin, Base):
    """A department (national code) the campaign is for."""

    __tablename__ = "consultation_campaign_departments"
    __table_args__ = (
        Index(
            "uq_consultation_campaign_departments_campaign_code",
            "campaign_id",
            "department_code",
            unique=True,
        ),
    )

    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("consultation_campaigns.id"))
    department_code: Mapped[str] = mapped_column(String(8), ForeignKey("department_codes.code"))


class CampaignDay(IdMixin, Base):
    """The places of one doctor in one campaign on one day taken so far."""

    __tablename__ = "consultation_campaign_days"
    __table_args__ = (
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        Index(
            "uq_consultation_campaign_days_campaign_practitioner_day",
            "campaign_id",
            "practitioner_id",
            "day",
            unique=True,
        ),
    )

    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("consultation_campaigns.id"))
    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    day: Mapped[date]
    taken: Mapped[int]
