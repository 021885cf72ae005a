"""Institution admins' 义诊 campaigns: create, edit and end them (audited, with events), and the
running and coming campaigns patients see, with each doctor's free places left today.

A campaign belongs to one institution; its doctors must be allowed to serve online there (R05:
practising at the institution, licensed and with its consent); its dates are Asia/Shanghai days;
its quota counts the free consultations per doctor and day (:mod:`.places`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.campaigns.models import (
    Campaign,
    CampaignDepartment,
    CampaignDoctor,
)
from ihospital.consultation.campaigns.places import campaign_not_found, is_running, taken_today
from ihospital.consultation.models import TYPES
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution
from ihospital.directory.departments import known_department
from ihospital.directory.eligibility import online_service_eligibility
from ihospital.directory.validation import is_long_text, is_plain_text
from ihospital.errors import AppError, Conflict, Unprocessable
from ihospital.outbox.service import emit

TITLE_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 2000
MAX_QUOTA = 500
MAX_DAYS = 92
MAX_DOCTORS = 50
MAX_DEPARTMENTS = 20
CREATED = "consultation.campaign.created"
UPDATED = "consultation.campaign.updated"
ENDED = "consultation.campaign.ended"
TOPICS = (CREATED, UPDATED, ENDED)


@dataclass(frozen=True)
class CampaignInput:
    """What an admin gives for a campaign (the whole of it, when editing too)."""

    title: str
    description: str
    starts_on: date
    ends_on: date
    consultation_types: Sequence[str]
    daily_quota: int
    practitioner_ids: Sequence[int]
    department_codes: Sequence[str]


@dataclass
class CampaignView:
    """A campaign with its doctors and departments; ``remaining_today`` by doctor while it runs
    today (empty otherwise)."""

    campaign: Campaign
    practitioner_ids: list[int] = field(default_factory=list)
    department_codes: list[str] = field(default_factory=list)
    remaining_today: dict[int, int] = field(default_factory=dict)


def _checked_text(values: CampaignInput) -> tuple[str, str]:
    title, description = values.title.strip(), values.description.strip()
    if not (1 <= len(title) <= TITLE_MAX_LENGTH and is_plain_text(title)):
        raise Unprocessable(
            "campaign.title_invalid",
            "Give a title of 1 to {limit} characters.",
            field="title",
            limit=TITLE_MAX_LENGTH,
        )
    if len(description) > DESCRIPTION_MAX_LENGTH or (description and not is_long_text(description)):
        raise Unprocessable(
            "campaign.description_invalid",
            "Give a description of at most {limit} characters.",
            field="description",
            limit=DESCRIPTION_MAX_LENGTH,
        )
    return title, description


def _check_terms(values: CampaignInput, today: date) -> list[str]:
    """The dates, quota and types; the types in their canonical order."""
    if values.ends_on < values.starts_on:
        raise Unprocessable(
            "campaign.dates_reversed", "The campaign cannot end before it starts.", field="ends_on"
        )
    if values.ends_on < today:
        raise Unprocessable(
            "campaign.ends_in_past", "The campaign cannot end in the past.", field="ends_on"
        )
    if (values.ends_on - values.starts_on).days >= MAX_DAYS:
        raise Unprocessable(
            "campaign.too_long",
            "A campaign lasts at most {days} days.",
            field="ends_on",
            days=MAX_DAYS,
        )
    quota = values.daily_quota
    if isinstance(quota, bool) or not 1 <= quota <= MAX_QUOTA:
        raise Unprocessable(
            "campaign.quota_invalid",
            "Give a daily quota per doctor from 1 to {limit}.",
            field="daily_quota",
            limit=MAX_QUOTA,
        )
    chosen = set(values.consultation_types)
    if not chosen or not chosen <= set(TYPES):
        raise Unprocessable(
            "campaign.types_invalid",
            "Choose at least one type of consultation: text, voice or video.",
            field="consultation_types",
        )
    return [kind for kind in TYPES if kind in chosen]


async def _checked_doctors(
    session: AsyncSession, actor: Actor, institution_id: int, practitioner_ids: Sequence[int]
) -> list[int]:
    """The doctors, each allowed to serve online at the institution (R05)."""
    doctors = list(dict.fromkeys(practitioner_ids))
    if not 1 <= len(doctors) <= MAX_DOCTORS:
        raise Unprocessable(
            "campaign.doctors_invalid",
            "Choose 1 to {limit} doctors.",
            field="practitioner_ids",
            limit=MAX_DOCTORS,
        )
    for practitioner_id in doctors:
        try:
            eligibility = await online_service_eligibility(
                session, actor, practitioner_id=practitioner_id, institution_id=institution_id
            )
        except AppError:
            eligibility = None
        if eligibility is None or not eligibility.allowed:
            raise Unprocessable(
                "campaign.doctor_not_eligible",
                "Doctor {practitioner_id} does not give online consultations at this institution.",
                field="practitioner_ids",
                practitioner_id=practitioner_id,
            )
    return doctors


async def _checked_departments(session: AsyncSession, codes: Sequence[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    if len(codes) > MAX_DEPARTMENTS:
        raise Unprocessable(
            "campaign.departments_invalid",
            "Choose at most {limit} departments.",
            field="department_codes",
            limit=MAX_DEPARTMENTS,
        )
    for code in codes:
        await known_department(session, code, field="department_codes")
    return codes


async def _apply(
    session: AsyncSession, actor: Actor, campaign: Campaign, values: CampaignInput
) -> CampaignView:
    """Check ``values`` and write them to ``campaign`` with its doctors and departments."""
    title, description = _checked_text(values)
    types = _check_terms(values, actor.clock.today_local())
    doctors = await _checked_doctors(
        session, actor, campaign.institution_id, values.practitioner_ids
    )
    departments = await _checked_departments(session, values.department_codes)
    campaign.title, campaign.description = title, description
    campaign.starts_on, campaign.ends_on = values.starts_on, values.ends_on
    campaign.consultation_types = ",".join(types)
    campaign.daily_quota = values.daily_quota
    campaign.updated_at = actor.clock.now()
    session.add(campaign)
    await session.flush()
    for table in (CampaignDoctor, CampaignDepartment):
        await session.execute(delete(table).where(table.campaign_id == campaign.id))
    session.add_all(CampaignDoctor(campaign_id=campaign.id, practitioner_id=d) for d in doctors)
    session.add_all(
        CampaignDepartment(campaign_id=campaign.id, department_code=c) for c in departments
    )
    await session.flush()
    [view] = await _views(session, actor, [campaign])
    return view


async def _changed(session: AsyncSession, actor: Actor, view: CampaignView, topic: str) -> None:
    """Audit the change ``topic`` and publish it, in the change's transaction (R13)."""
    campaign = view.campaign
    details = {
        "institution_id": campaign.institution_id,
        "title": campaign.title,
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "consultation_types": campaign.types,
        "daily_quota": campaign.daily_quota,
        "practitioner_ids": view.practitioner_ids,
        "department_codes": view.department_codes,
        "status": campaign.status,
    }
    await record(
        session,
        actor,
        action=topic,
        subject_type="campaign",
        subject_id=campaign.id,
        details=details,
    )
    await emit(session, actor, topic=topic, payload={"campaign_id": campaign.id, **details})


async def create_campaign(
    session: AsyncSession, actor: Actor, *, institution_id: int, values: CampaignInput
) -> CampaignView:
    """An admin of the institution starts a 义诊 campaign there."""
    await managed_institution(session, actor, institution_id)
    now = actor.clock.now()
    campaign = Campaign(
        institution_id=institution_id,
        status="active",
        created_by_account_id=actor.account_id,
        created_at=now,
    )
    view = await _apply(session, actor, campaign, values)
    await _changed(session, actor, view, CREATED)
    return view


async def managed_campaign(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    campaign_id: int,
    for_change: bool = False,
) -> Campaign:
    """A campaign of an institution the actor manages (403 for another institution; 404 for a
    campaign not of this institution); ``for_change`` locks it and refuses an ended one."""
    await managed_institution(session, actor, institution_id)
    query = select(Campaign).where(Campaign.id == campaign_id)
    if for_change:
        query = query.with_for_update().execution_options(populate_existing=True)
    campaign = await session.scalar(query)
    if campaign is None or campaign.institution_id != institution_id:
        raise campaign_not_found(campaign_id)
    if for_change and campaign.status != "active":
        raise Conflict("campaign.ended", "This campaign has ended and cannot be changed.")
    return campaign


async def update_campaign(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    campaign_id: int,
    values: CampaignInput,
) -> CampaignView:
    """An admin of the institution changes a campaign that has not ended. Places already taken
    stay taken; a lower quota only stops new starts."""
    campaign = await managed_campaign(
        session, actor, institution_id=institution_id, campaign_id=campaign_id, for_change=True
    )
    view = await _apply(session, actor, campaign, values)
    await _changed(session, actor, view, UPDATED)
    return view


async def end_campaign(
    session: AsyncSession, actor: Actor, *, institution_id: int, campaign_id: int
) -> CampaignView:
    """An admin ends a campaign now: no more free consultations start in it; those started
    go on."""
    campaign = await managed_campaign(
        session, actor, institution_id=institution_id, campaign_id=campaign_id, for_change=True
    )
    campaign.status = "ended"
    campaign.ended_at = campaign.updated_at = actor.clock.now()
    await session.flush()
    [view] = await _views(session, actor, [campaign])
    await _changed(session, actor, view, ENDED)
    return view


async def _views(
    session: AsyncSession, actor: Actor, campaigns: Sequence[Campaign]
) -> list[CampaignView]:
    """The campaigns with their doctors, departments and, while running today, the places left."""
    ids = [campaign.id for campaign in campaigns]
    views = {campaign.id: CampaignView(campaign) for campaign in campaigns}
    if not ids:
        return []
    doctors = await session.execute(
        select(CampaignDoctor.campaign_id, CampaignDoctor.practitioner_id)
        .where(CampaignDoctor.campaign_id.in_(ids))
        .order_by(CampaignDoctor.id)
    )
    for campaign_id, practitioner_id in doctors.all():
        views[campaign_id].practitioner_ids.append(practitioner_id)
    departments = await session.execute(
        select(CampaignDepartment.campaign_id, CampaignDepartment.department_code)
        .where(CampaignDepartment.campaign_id.in_(ids))
        .order_by(CampaignDepartment.department_code)
    )
    for campaign_id, code in departments.all():
        views[campaign_id].department_codes.append(code)
    today = actor.clock.today_local()
    taken = await taken_today(session, ids, today)
    for view in views.values():
        if is_running(view.campaign, today):
            view.remaining_today = {
                doctor: view.campaign.daily_quota - taken.get((view.campaign.id, doctor), 0)
                for doctor in view.practitioner_ids
            }
    return [views[campaign_id] for campaign_id in ids]


async def institution_campaigns(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> list[CampaignView]:
    """All campaigns of an institution the actor manages, the latest first."""
    await managed_institution(session, actor, institution_id)
    campaigns = await session.scalars(
        select(Campaign)
        .where(Campaign.institution_id == institution_id)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    )
    return await _views(session, actor, campaigns.all())


async def get_managed_campaign(
    session: AsyncSession, actor: Actor, *, institution_id: int, campaign_id: int
) -> CampaignView:
    """One campaign of an institution the actor manages."""
    campaign = await managed_campaign(
        session, actor, institution_id=institution_id, campaign_id=campaign_id
    )
    [view] = await _views(session, actor, [campaign])
    return view


async def open_campaigns(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int | None = None,
    practitioner_id: int | None = None,
) -> list[CampaignView]:
    """Public: the campaigns running today or coming (not ended), soonest first; of one
    institution, or with one doctor, when asked."""
    query = select(Campaign).where(
        Campaign.status == "active", Campaign.ends_on >= actor.clock.today_local()
    )
    if institution_id is not None:
        query = query.where(Campaign.institution_id == institution_id)
    if practitioner_id is not None:
        query = query.where(
            Campaign.id.in_(
                select(CampaignDoctor.campaign_id).where(
                    CampaignDoctor.practitioner_id == practitioner_id
                )
            )
        )
    campaigns = await session.scalars(query.order_by(Campaign.starts_on, Campaign.id).limit(100))
    return await _views(session, actor, campaigns.all())
