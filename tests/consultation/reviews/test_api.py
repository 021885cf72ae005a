"""The reviews API over HTTP: only a closed consultation of one's own account is rated, once;
bad stars are a translated problem; the doctor replies once; held text is hidden from the public
until the institution approves it; the public rating costs the same queries for any number of
reviews."""

from sqlalchemy import func, select

from ihospital.consultation.reviews.models import ConsultationReview
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from tests.consultation.builders import make_practice, start
from tests.consultation.reviews.builders import closed, queries_of, rate_many, rated
from tests.directory.builders import bearer
from tests.identity.builders import make_patient


async def _headers(session, clock, account_id):
    return await bearer(session, clock=clock, account=await session.get(Account, account_id))


async def _count(session) -> int:
    return await session.scalar(select(func.count()).select_from(ConsultationReview))


async def test_a_patient_rates_a_closed_consultation_once(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock, name="王五")
    consultation = await closed(session, clock, practice, patient)
    headers = await _headers(session, clock, patient.account_id)
    url = f"/api/consultations/{consultation.id}/review"
    body = {"stars": 5, "tags": ["timely", "clear"], "text": "王五很满意，电话 13912345678"}

    created = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json={"stars": 1}, headers=headers)

    assert created.status_code == 201, created.text
    review = created.json()
    assert (review["status"], review["stars"], review["tags"]) == (
        "published",
        5,
        ["timely", "clear"],
    )
    assert review["text"] == "王*很满意，电话 139****5678"
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    assert again.json()["code"] == "review.already_rated"
    read = await client.get(url, headers=headers)
    assert read.json()["id"] == review["id"]
    detail = await client.get(f"/api/consultations/{consultation.id}", headers=headers)
    assert detail.json()["rated_at"] is not None


async def test_an_open_consultation_cannot_be_rated(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    consultation = await start(session, clock, practice, patient)
    headers = await _headers(session, clock, patient.account_id)

    response = await client.post(
        f"/api/consultations/{consultation.id}/review", json={"stars": 5}, headers=headers
    )

    assert response.status_code == 409
    assert response.json()["code"] == "review.not_closed"
    assert await _count(session) == 0


async def test_another_accounts_consultation_is_not_found(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    consultation = await closed(session, clock, practice, await make_patient(session, clock=clock))
    stranger = await make_patient(session, clock=clock)
    headers = await _headers(session, clock, stranger.account_id)
    url = f"/api/consultations/{consultation.id}/review"

    rated_by_stranger = await client.post(url, json={"stars": 1}, headers=headers)
    read_by_stranger = await client.get(url, headers=headers)

    assert (rated_by_stranger.status_code, read_by_stranger.status_code) == (404, 404)
    assert await _count(session) == 0


async def test_bad_stars_are_a_translated_problem(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    consultation = await closed(session, clock, practice, patient)
    headers = await _headers(session, clock, patient.account_id)
    url = f"/api/consultations/{consultation.id}/review"

    zh = await client.post(url, json={"stars": 6}, headers=headers)
    en = await client.post(url, json={"stars": 0}, headers={**headers, "Accept-Language": "en"})
    tag = await client.post(url, json={"stars": 3, "tags": ["rude"]}, headers=headers)

    assert (zh.status_code, en.status_code, tag.status_code) == (422, 422, 422)
    assert zh.headers["content-type"].startswith(PROBLEM_JSON)
    assert (zh.json()["field"], zh.json()["detail"]) == ("stars", "stars：请输入不大于 5 的值。")
    assert en.json()["detail"] == "stars: Enter a value of at least 1."
    assert tag.json()["field"] == "tags.0"
    assert await _count(session) == 0


async def test_the_doctor_replies_once_and_others_cannot(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    review = await rated(session, clock, practice, await make_patient(session, clock=clock))
    doctor = await _headers(session, clock, practice.doctor.account_id)
    colleague = await _headers(session, clock, practice.colleague.account_id)
    url = f"/api/doctor/reviews/{review.id}/reply"

    by_colleague = await client.post(url, json={"reply": "谢谢"}, headers=colleague)
    first = await client.post(url, json={"reply": "谢谢您的信任"}, headers=doctor)
    second = await client.post(url, json={"reply": "再次感谢"}, headers=doctor)

    assert by_colleague.status_code == 404
    assert first.status_code == 200, first.text
    assert first.json()["reply"] == "谢谢您的信任"
    assert (second.status_code, second.json()["code"]) == (409, "review.already_replied")
    mine = await client.get("/api/doctor/reviews", headers=doctor)
    assert [r["id"] for r in mine.json()] == [review.id]


async def test_held_text_is_public_only_after_the_institution_approves(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    review = await rated(
        session, clock, practice, await make_patient(session, clock=clock), text="you idiot"
    )
    admin = await _headers(session, clock, practice.admin.id)
    public = f"/api/doctors/{practice.doctor.id}/reviews"

    hidden = await client.get(public)
    held = await client.get(
        f"/api/institutions/{practice.institution.id}/held-reviews", headers=admin
    )
    approved = await client.post(
        f"/api/reviews/{review.id}/moderation", json={"decision": "approve"}, headers=admin
    )
    shown = await client.get(public)

    assert (hidden.json()["count"], hidden.json()["recent"]) == (0, [])
    assert [r["id"] for r in held.json()] == [review.id]
    assert approved.json()["status"] == "published", approved.text
    assert [r["id"] for r in shown.json()["recent"]] == [review.id]


async def test_another_institution_cannot_moderate(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    other = await make_practice(session, clock=clock, fee_fen=0)
    review = await rated(
        session, clock, practice, await make_patient(session, clock=clock), text="骗子"
    )
    admin = await _headers(session, clock, other.admin.id)

    moderated = await client.post(
        f"/api/reviews/{review.id}/moderation", json={"decision": "approve"}, headers=admin
    )
    listed = await client.get(
        f"/api/institutions/{practice.institution.id}/held-reviews", headers=admin
    )

    assert (moderated.status_code, listed.status_code) == (404, 403)


async def test_the_rating_is_one_aggregate_whatever_the_number_of_reviews(
    client, session, clock, engine
):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    url = f"/api/doctors/{practice.doctor.id}/reviews"

    await rate_many(session, clock, practice, count=2, stars=5)
    with_2 = await queries_of(client, engine, url)
    await rate_many(session, clock, practice, count=8, stars=3)
    with_10 = await queries_of(client, engine, url)

    rating = (await client.get(url)).json()
    assert with_10 == with_2
    assert (rating["average_stars"], rating["count"], len(rating["recent"])) == ("3.4", 10, 5)
