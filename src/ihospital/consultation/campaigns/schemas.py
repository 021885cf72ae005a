"""API shapes of 义诊 campaigns. Dates are Asia/Shanghai days; a campaign's consultations are
free (fee 0)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from ihospital.consultation.campaigns.places import is_running
from ihospital.consultation.campaigns.service import (
    DESCRIPTION_MAX_LENGTH,
    MAX_DEPARTMENTS,
    MAX_DOCTORS,
    TITLE_MAX_LENGTH,
    CampaignInput,
    CampaignView,
)
from ihospital.core.schemas import Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
ConsultationType = Literal["text", "voice", "video"]


class CampaignWrite(Schema):
    """A whole campaign, to create or to replace: its doctors must give online consultations
    at the institution; ``daily_quota`` is the number of free consultations per doctor and day."""

    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX_LENGTH)]
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH)] = ""
    starts_on: date
    ends_on: date
    consultation_types: Annotated[list[ConsultationType], Field(min_length=1, max_length=3)]
    daily_quota: int
    practitioner_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_DOCTORS)]
    department_codes: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=8)]],
        Field(max_length=MAX_DEPARTMENTS),
    ] = Field(default_factory=list)

    def value(self) -> CampaignInput:
        return CampaignInput(
            title=self.title,
            description=self.description,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            consultation_types=self.consultation_types,
            daily_quota=self.daily_quota,
            practitioner_ids=self.practitioner_ids,
            department_codes=self.department_codes,
        )


class CampaignDoctorRead(Schema):
    practitioner_id: int
    remaining_today: int | None  # None while the campaign does not run today


class CampaignRead(Schema):
    id: int
    institution_id: int
    title: str
    description: str
    starts_on: date
    ends_on: date
    consultation_types: list[str]
    daily_quota: int
    fee_fen: int
    status: str
    running_today: bool
    doctors: list[CampaignDoctorRead]
    department_codes: list[str]
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, view: CampaignView, today: date) -> CampaignRead:
        campaign = view.campaign
        return cls(
            id=campaign.id,
            institution_id=campaign.institution_id,
            title=campaign.title,
            description=campaign.description,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
            consultation_types=campaign.types,
            daily_quota=campaign.daily_quota,
            fee_fen=0,
            status=campaign.status,
            running_today=is_running(campaign, today),
            doctors=[
                CampaignDoctorRead(
                    practitioner_id=doctor, remaining_today=view.remaining_today.get(doctor)
                )
                for doctor in view.practitioner_ids
            ],
            department_codes=view.department_codes,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            ended_at=campaign.ended_at,
        )
