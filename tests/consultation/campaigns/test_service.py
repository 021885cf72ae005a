"""义诊 campaigns in the service: a free consultation in a running campaign takes one of the
doctor's places of the day and bills nothing; the quota is per doctor and day; a cancelled one
gives its place back; admins create, change and end only their own institution's campaigns,
audited and published."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order
from ihospital.consultation.campaigns.models import CampaignDay
from ihospital.consultation.campaigns.service import (
    create_campaign,
    end_campaign,
    open_campaigns,
    update_campaign,
)
from ihospital.consultation.lifecycle import cancel_consultation
from ihospital.errors import Conflict, Forbidden, NotFound, Unprocessable
from ihospital.outbox.models import OutboxEvent
from tests.booking.builders import booker
from tests.consultation.builders import make_practice, start
from tests.consultation.campaigns.builders import campaign_input, make_campaign
from tests.directory.builders import make_doctor, make_institution
from tests.identity.builders import make_patient


async def _count(session, model, *conditions) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def test_a_campaign_consultation_is_free_and_bills_nothing(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=3000)
    view = await make_campaign(session, clock, practice)
    patient = await make_patient(session, clock=clock)
    orders = await _count(session, Order)
    consultation = await start(session, clock, practice, patient, campaign_id=view.campaign.id)
    assert (consultation.fee_fen, consultation.status) == (0, "waiting")
    assert consultation.order_id is None and consultation.campaign_id == view.campaign.id
    assert await _count(session, Order) == orders
    started = await session.scalar(
        select(OutboxEvent)
        .where(OutboxEvent.topic == "consultation.started")
        .order_by(OutboxEvent.id.desc())
    )
    assert f'"campaign_id": {view.campaign.id}' in started.payload


async def test_without_the_campaign_the_doctor_s_fee_is_billed(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=3000)
    await make_campaign(session, clock, practice)
    consultation = await start(session, clock, practice, await make_patient(session, clock=clock))
    assert (consultation.fee_fen, consultation.campaign_id) == (3000, None)
    assert consultation.order_id is not None


async def test_the_daily_quota_per_doctor_is_enforced_and_a_cancellation_gives_back(session, clock):
    practice = await make_practice(session, clock=clock)
    view = await make_campaign(session, clock, practice, daily_quota=2)
    patients = [await make_patient(session, clock=clock) for _ in range(3)]
    first = await start(session, clock, practice, patients[0], campaign_id=view.campaign.id)
    await start(session, clock, practice, patients[1], campaign_id=view.campaign.id)
    with pytest.raises(Conflict) as refused:
        await start(session, clock, practice, patients[2], campaign_id=view.campaign.id)
    assert (refused.value.code, refused.value.status) == ("campaign.quota_used_up", 409)
    [listed] = await open_campaigns(session, booker(clock, patients[2]))
    assert listed.remaining_today == {practice.doctor.id: 0}

    await cancel_consultation(session, booker(clock, patients[0]), consultation_id=first.id)
    third = await start(session, clock, practice, patients[2], campaign_id=view.campaign.id)
    assert third.fee_fen == 0
    day = await session.scalar(select(CampaignDay).execution_options(populate_existing=True))
    assert (day.day, day.taken) == (clock.today_local(), 2)


async def test_the_quota_starts_again_the_next_day(session, clock):
    practice = await make_practice(session, clock=clock)
    view = await make_campaign(session, clock, practice, daily_quota=1)
    await start(
        session,
        clock,
        practice,
        await make_patient(session, clock=clock),
        campaign_id=view.campaign.id,
    )
    clock.advance(timedelta(days=1))
    later = await start(
        session,
        clock,
        practice,
        await make_patient(session, clock=clock),
        campaign_id=view.campaign.id,
    )
    assert later.fee_fen == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"starts_on_delta": 2}, "campaign.not_running"),
        ({"consultation_type": "voice"}, "campaign.type_not_offered"),
        ({"colleague": True}, "campaign.doctor_not_in_campaign"),
        ({"ended": True}, "campaign.not_running"),
    ],
    ids=["not-started", "type-not-offered", "doctor-not-in-campaign", "ended"],
)
async def test_a_free_start_outside_the_campaign_is_refused(session, clock, changes, code):
    practice = await make_practice(session, clock=clock)
    today = clock.today_local()
    delta = timedelta(days=changes.get("starts_on_delta", 0))
    doctor = practice.colleague if changes.get("colleague") else practice.doctor
    view = await make_campaign(
        session,
        clock,
        practice,
        starts_on=today + delta,
        ends_on=today + delta,
        practitioner_ids=[doctor.id],
    )
    if changes.get("ended"):
        await end_campaign(
            session,
            practice.admin_actor(clock),
            institution_id=practice.institution.id,
            campaign_id=view.campaign.id,
        )
    patient = await make_patient(session, clock=clock)
    kwargs = {"consultation_type": changes.get("consultation_type", "text")}
    with pytest.raises(Conflict) as refused:
        await start(session, clock, practice, patient, campaign_id=view.campaign.id, **kwargs)
    assert refused.value.code == code


async def test_another_institution_s_campaign_is_not_found_for_a_start(session, clock):
    practice = await make_practice(session, clock=clock)
    other = await make_practice(session, clock=clock)
    view = await make_campaign(session, clock, other)
    with pytest.raises(NotFound):
        await start(
            session,
            clock,
            practice,
            await make_patient(session, clock=clock),
            campaign_id=view.campaign.id,
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_on": -1}, "ends_on"),
        ({"daily_quota": 0}, "daily_quota"),
        ({"title": "  "}, "title"),
        ({"consultation_types": []}, "consultation_types"),
        ({"department_codes": ["99.99"]}, "department_codes"),
        ({"outsider": True}, "practitioner_ids"),
    ],
    ids=[
        "dates-reversed",
        "quota-zero",
        "title-blank",
        "no-type",
        "unknown-department",
        "doctor-elsewhere",
    ],
)
async def test_invalid_campaigns_are_refused_naming_the_field(session, clock, changes, field):
    practice = await make_practice(session, clock=clock)
    values = dict(changes)
    if "ends_on" in values:
        values["ends_on"] = clock.today_local() - timedelta(days=1)
        values["starts_on"] = clock.today_local()
    if values.pop("outsider", False):
        elsewhere = await make_doctor(
            session, clock=clock, institution=await make_institution(session, clock=clock)
        )
        values["practitioner_ids"] = [elsewhere.id]
    with pytest.raises(Unprocessable) as refused:
        await make_campaign(session, clock, practice, **values)
    assert refused.value.fields["field"] == field


async def test_admins_manage_only_their_own_institution_s_campaigns(session, clock):
    practice = await make_practice(session, clock=clock)
    other = await make_practice(session, clock=clock)
    view = await make_campaign(session, clock, practice)
    with pytest.raises(Forbidden):
        await update_campaign(
            session,
            other.admin_actor(clock),
            institution_id=practice.institution.id,
            campaign_id=view.campaign.id,
            values=campaign_input(clock, practice),
        )
    with pytest.raises(NotFound):
        await end_campaign(
            session,
            other.admin_actor(clock),
            institution_id=other.institution.id,
            campaign_id=view.campaign.id,
        )
    patient = await make_patient(session, clock=clock)
    with pytest.raises(Forbidden):
        await create_campaign(
            session,
            booker(clock, patient),
            institution_id=practice.institution.id,
            values=campaign_input(clock, practice),
        )


async def test_changes_are_audited_and_published_and_an_ended_campaign_is_fixed(session, clock):
    practice = await make_practice(session, clock=clock)
    admin = practice.admin_actor(clock)
    view = await make_campaign(session, clock, practice)
    campaign_id = view.campaign.id
    changed = await update_campaign(
        session,
        admin,
        institution_id=practice.institution.id,
        campaign_id=campaign_id,
        values=campaign_input(
            clock,
            practice,
            daily_quota=5,
            practitioner_ids=[practice.doctor.id, practice.colleague.id],
        ),
    )
    assert changed.practitioner_ids == [practice.doctor.id, practice.colleague.id]
    ended = await end_campaign(
        session, admin, institution_id=practice.institution.id, campaign_id=campaign_id
    )
    assert ended.campaign.status == "ended"
    actions = (
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "campaign", AuditEntry.subject_id == str(campaign_id))
            .order_by(AuditEntry.id)
        )
    ).all()
    assert actions == [
        "consultation.campaign.created",
        "consultation.campaign.updated",
        "consultation.campaign.ended",
    ]
    topics = (
        await session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.topic.like("consultation.campaign.%"))
        )
    ).all()
    assert len(topics) == 3
    with pytest.raises(Conflict):
        await end_campaign(
            session, admin, institution_id=practice.institution.id, campaign_id=campaign_id
        )
    assert await open_campaigns(session, admin) == []
