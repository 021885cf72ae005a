"""Review pages over HTTP, without JavaScript: the patient rates a closed consultation from its
page (长辈模式 too), the doctor replies once, the institution publishes a held review, and the
doctor's public profile shows the rating at a fixed number of queries."""

import re

from ihospital.identity.models import Account
from tests.consultation.builders import make_practice, start
from tests.consultation.reviews.builders import closed, queries_of, rate_many, rated
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as


async def _signed_in(session, client, clock, account_id, *, elder=False):
    account = await session.get(Account, account_id)
    account.elder_mode = elder
    await session.flush()
    await sign_in_as(session, client, account=account, clock=clock)


async def test_the_patient_rates_from_the_consultation_page(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock, name="赵六")
    consultation = await closed(session, clock, practice, patient)
    await _signed_in(session, client, clock, patient.account_id, elder=True)
    page_url = f"/consultations/{consultation.id}"

    page = await client.get(page_url)
    assert page.text.count("btn-primary") == 1
    assert page.text.count('name="stars"') == 5
    form = {
        "csrf_token": await csrf_token(client),
        "stars": "4",
        "tags": ["kind", "patient"],
        "text": "赵六的邮箱 zhao@example.com",
    }
    sent = await client.post(f"{page_url}/review", data=form)
    assert (sent.status_code, sent.headers["location"]) == (303, f"{page_url}/review")

    review = await client.get(f"{page_url}/review")
    assert "z***@example.com" in review.text and "zhao@" not in review.text
    assert "赵*的邮箱" in review.text
    assert "态度好" in review.text and "耐心" in review.text
    after = await client.get(page_url)
    assert 'name="stars"' not in after.text and f"{page_url}/review" in after.text


async def test_a_form_without_stars_is_shown_again_with_the_reason(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    consultation = await closed(session, clock, practice, patient)
    await _signed_in(session, client, clock, patient.account_id)
    url = f"/consultations/{consultation.id}/review"

    page = await client.post(url, data={"csrf_token": await csrf_token(client), "text": "好"})

    assert page.status_code == 422
    assert 'id="error-stars"' in page.text
    assert page.text.count('name="stars"') == 5


async def test_an_open_consultation_shows_no_rating_form(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    consultation = await start(session, clock, practice, patient)
    await _signed_in(session, client, clock, patient.account_id)

    detail = await client.get(f"/consultations/{consultation.id}")
    refused = await client.post(
        f"/consultations/{consultation.id}/review",
        data={"csrf_token": await csrf_token(client), "stars": "5"},
    )

    assert 'name="stars"' not in detail.text
    assert refused.status_code == 409
    assert "问诊结束后才能评价" in refused.text


async def test_the_doctor_replies_once_from_the_reviews_page(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    review = await rated(session, clock, practice, await make_patient(session, clock=clock))
    await _signed_in(session, client, clock, practice.doctor.account_id)

    page = await client.get("/doctor/reviews")
    assert f"/doctor/reviews/{review.id}/reply" in page.text
    token = await csrf_token(client)
    url = f"/doctor/reviews/{review.id}/reply"
    await client.post(url, data={"csrf_token": token, "reply": "祝您早日康复"})
    again = await client.post(url, data={"csrf_token": token, "reply": "再次感谢"})

    after = await client.get(again.headers["location"])
    assert "祝您早日康复" in after.text and "再次感谢" not in after.text
    assert "您已经回复过这条评价" in after.text
    assert f"/doctor/reviews/{review.id}/reply" not in after.text


async def test_the_institution_publishes_a_held_review(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    review = await rated(session, clock, practice, patient, text="这个庸医")
    profile = f"/doctors/{practice.doctor.id}"
    assert "这个庸医" not in (await client.get(profile)).text
    await _signed_in(session, client, clock, practice.admin.id)

    held = await client.get("/admin/reviews")
    assert "这个庸医" in held.text
    await client.post(
        f"/admin/reviews/{review.id}/moderation",
        data={"csrf_token": await csrf_token(client), "decision": "approve"},
    )

    assert "这个庸医" not in (await client.get("/admin/reviews")).text
    assert "这个庸医" in (await client.get(profile)).text


async def test_the_profile_shows_the_rating_at_fixed_queries(client, session, clock, engine):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    url = f"/doctors/{practice.doctor.id}"

    await rate_many(session, clock, practice, count=1, stars=4)
    with_1 = await queries_of(client, engine, url)
    await rate_many(session, clock, practice, count=7, stars=5)
    with_8 = await queries_of(client, engine, url)

    page = (await client.get(url)).text
    assert with_8 == with_1
    assert "4.9 星（满分 5 星），共 8 条评价" in page
    assert len(re.findall(r'class="review"', page)) == 5
    reviews = page.split('id="reviews-title"')[1]
    assert "张*" in reviews and "张三" not in reviews
