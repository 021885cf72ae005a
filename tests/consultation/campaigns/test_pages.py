"""义诊 pages over HTTP: patients see the running campaigns and the free offer on the doctor's
consult page, and start a free consultation there (no bill); the admin creates, changes and ends
a campaign on their pages, refusals next to their fields; another institution's admin finds none."""

from datetime import timedelta

from sqlalchemy import func, select

from ihospital.billing.models import Order
from ihospital.consultation.campaigns.models import Campaign
from ihospital.consultation.models import Consultation
from ihospital.identity.models import Account
from tests.consultation.builders import make_practice
from tests.consultation.campaigns.builders import make_campaign
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as


async def _sign_in(session, client, clock, account_id):
    account = await session.get(Account, account_id)
    await sign_in_as(session, client, account=account, clock=clock)


async def test_a_patient_finds_the_campaign_and_consults_for_free(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=3000)
    view = await make_campaign(session, clock, practice, daily_quota=2)
    listing = await client.get("/campaigns")
    assert listing.status_code == 200
    assert "心血管健康义诊周" in listing.text and "今日剩余 2 个名额" in listing.text
    assert f"/doctors/{practice.doctor.id}/consult" in listing.text

    patient = await make_patient(session, clock=clock)
    await _sign_in(session, client, clock, patient.account_id)
    home = await client.get("/")
    assert 'href="/campaigns"' in home.text
    page = await client.get(f"/doctors/{practice.doctor.id}/consult")
    assert "campaign-badge" in page.text and "义诊" in page.text
    offer = f"{practice.institution.id}-text-c{view.campaign.id}"
    assert f'value="{offer}"' in page.text and "¥0.00" in page.text
    orders = await session.scalar(select(func.count()).select_from(Order))
    started = await client.post(
        f"/doctors/{practice.doctor.id}/consult",
        data={
            "csrf_token": await csrf_token(client),
            "patient_id": str(patient.id),
            "offer": offer,
            "complaint": "胸闷一周",
        },
    )
    assert started.status_code == 303, started.text
    consultation = await session.scalar(select(Consultation))
    assert started.headers["location"] == f"/consultations/{consultation.id}"
    assert (consultation.fee_fen, consultation.campaign_id) == (0, view.campaign.id)
    assert await session.scalar(select(func.count()).select_from(Order)) == orders
    page = await client.get(started.headers["location"])
    assert 'campaign-badge" href="/campaigns">义诊</a>' in page.text


async def test_a_full_day_is_refused_next_to_the_offer(client, session, clock):
    practice = await make_practice(session, clock=clock)
    view = await make_campaign(session, clock, practice, daily_quota=1)
    offer = f"{practice.institution.id}-text-c{view.campaign.id}"
    for _ in range(2):
        patient = await make_patient(session, clock=clock)
        await _sign_in(session, client, clock, patient.account_id)
        answer = await client.post(
            f"/doctors/{practice.doctor.id}/consult",
            data={
                "csrf_token": await csrf_token(client),
                "patient_id": str(patient.id),
                "offer": offer,
                "complaint": "胸闷一周",
            },
        )
    assert answer.status_code == 409
    assert "今日名额已满" in answer.text or "名额" in answer.text
    assert await session.scalar(select(func.count()).select_from(Consultation)) == 1


async def test_an_admin_creates_changes_and_ends_a_campaign_on_the_pages(client, session, clock):
    practice = await make_practice(session, clock=clock)
    await _sign_in(session, client, clock, practice.admin.id)
    page = await client.get("/admin/campaigns")
    assert page.status_code == 200 and practice.doctor.name in page.text
    today = clock.today_local()
    form = {
        "csrf_token": await csrf_token(client),
        "title": "社区义诊",
        "description": "",
        "starts_on": today.isoformat(),
        "ends_on": (today - timedelta(days=1)).isoformat(),
        "daily_quota": "10",
        "department_codes": "03.04 07",
        "consultation_types": ["text", "voice"],
        "practitioner_ids": [str(practice.doctor.id)],
    }
    refused = await client.post("/admin/campaigns", data=form)
    assert refused.status_code == 422
    assert "结束日期不能早于开始日期" in refused.text or "field-invalid" in refused.text
    assert await session.scalar(select(func.count()).select_from(Campaign)) == 0

    form["ends_on"] = (today + timedelta(days=3)).isoformat()
    created = await client.post("/admin/campaigns", data=form)
    assert created.status_code == 303, created.text
    campaign = await session.scalar(select(Campaign))
    assert (campaign.daily_quota, campaign.types) == (10, ["text", "voice"])
    edit = await client.get(created.headers["location"])
    assert edit.status_code == 200 and "社区义诊" in edit.text

    saved = await client.post(f"/admin/campaigns/{campaign.id}", data={**form, "daily_quota": "4"})
    assert saved.status_code == 303
    ended = await client.post(
        f"/admin/campaigns/{campaign.id}/end", data={"csrf_token": await csrf_token(client)}
    )
    assert ended.status_code == 303
    await session.refresh(campaign)
    assert (campaign.daily_quota, campaign.status) == (4, "ended")


async def test_another_institution_s_admin_finds_no_campaign(client, session, clock):
    practice = await make_practice(session, clock=clock)
    other = await make_practice(session, clock=clock)
    view = await make_campaign(session, clock, practice)
    await _sign_in(session, client, clock, other.admin.id)
    assert (await client.get(f"/admin/campaigns/{view.campaign.id}")).status_code == 404
    listing = await client.get("/admin/campaigns")
    assert view.campaign.title not in listing.text


async def test_the_campaign_list_is_in_english_when_asked(client, session, clock):
    practice = await make_practice(session, clock=clock)
    await make_campaign(session, clock, practice, daily_quota=4)
    listing = await client.get("/campaigns", headers={"Accept-Language": "en"})
    assert "Free clinics" in listing.text and "4 places left today" in listing.text
    empty = await client.get(
        "/api/campaigns?institution_id=999999", headers={"Accept-Language": "en"}
    )
    assert empty.json() == []
