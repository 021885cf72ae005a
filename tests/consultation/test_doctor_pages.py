"""The doctor's consultation workstation over HTTP: the queue by type, accept, the consultation
page, confirm the earlier diagnosis, transfer, close with advice or an in-person visit; refusals
show on the page and change nothing; another doctor's consultation is not found."""

from datetime import timedelta

from ihospital.consultation.models import Consultation
from tests.consultation.builders import PRIOR, make_practice, start
from tests.directory.builders import doctor_account, make_doctor
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as


async def _as_doctor(session, client, clock, view):
    await sign_in_as(session, client, account=await doctor_account(session, view=view), clock=clock)
    return {"csrf_token": await csrf_token(client)}


async def _status(session, consultation: Consultation) -> str:
    await session.refresh(consultation)
    return consultation.status


async def test_the_doctor_accepts_from_the_queue_and_closes_with_advice(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    text = await start(session, clock, practice, await make_patient(session, clock=clock))
    clock.advance(timedelta(minutes=5))
    video = await start(
        session,
        clock,
        practice,
        await make_patient(session, clock=clock, name="赵六"),
        consultation_type="video",
    )
    token = await _as_doctor(session, client, clock, practice.doctor)

    home = await client.get("/")
    assert 'href="/doctor/consultations"' in home.text
    queue = await client.get("/doctor/consultations")
    assert queue.status_code == 200 and "待接诊（2）" in queue.text
    assert queue.text.index(f"consultation-{text.id}") < queue.text.index(
        f"consultation-{video.id}"
    )
    only_video = await client.get("/doctor/consultations?type=video")
    assert f"consultation-{video.id}" in only_video.text
    assert f"consultation-{text.id}" not in only_video.text

    accepted = await client.post(f"/doctor/consultations/{text.id}/accept", data=token)
    assert accepted.headers["location"] == f"/doctor/consultations/{text.id}"
    assert await _status(session, text) == "in_progress"
    queue = await client.get("/doctor/consultations")
    assert "问诊中（1）" in queue.text and "待接诊（1）" in queue.text
    page = await client.get(f"/doctor/consultations/{text.id}")
    assert "血压控制不佳" in page.text and "健康咨询" in page.text
    assert "李时珍" in page.text  # the colleague to transfer to

    refused = await client.post(
        f"/doctor/consultations/{text.id}/close", data={**token, "advice": " "}
    )
    assert refused.status_code == 422 and 'id="error-advice"' in refused.text
    assert await _status(session, text) == "in_progress"
    closed = await client.post(
        f"/doctor/consultations/{text.id}/close",
        data={**token, "advice": "多饮水，规律作息", "visit_in_person": "0"},
    )
    assert closed.status_code == 303
    assert await _status(session, text) == "closed"
    assert (text.close_reason, text.advice) == ("doctor", "多饮水，规律作息")


async def test_a_confirmed_diagnosis_ends_only_with_an_in_person_visit_here(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    consultation = await start(
        session, clock, practice, await make_patient(session, clock=clock), prior=PRIOR
    )
    token = await _as_doctor(session, client, clock, practice.doctor)
    await client.post(f"/doctor/consultations/{consultation.id}/accept", data=token)
    page = await client.get(f"/doctor/consultations/{consultation.id}")
    assert "原发性高血压 · 北京协和医院" in page.text and "确认既往诊断" in page.text
    confirmed = await client.post(
        f"/doctor/consultations/{consultation.id}/confirm-diagnosis", data=token
    )
    assert confirmed.status_code == 303
    await session.refresh(consultation)
    assert consultation.prior_confirmed_at is not None
    refused = await client.post(
        f"/doctor/consultations/{consultation.id}/close",
        data={**token, "advice": "继续服药", "visit_in_person": "0"},
    )
    assert refused.status_code == 409 and "须有已签名的病历" in refused.text
    assert await _status(session, consultation) == "in_progress"
    in_person = await client.post(
        f"/doctor/consultations/{consultation.id}/close",
        data={**token, "advice": "请到门诊复查", "visit_in_person": "1"},
    )
    assert in_person.status_code == 303
    assert await _status(session, consultation) == "closed"
    assert consultation.close_reason == "in_person"


async def test_transfer_to_a_colleague_and_refusals_next_to_the_chooser(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    consultation = await start(session, clock, practice, await make_patient(session, clock=clock))
    token = await _as_doctor(session, client, clock, practice.doctor)
    url = f"/doctor/consultations/{consultation.id}/transfer"
    for bad in ("", "x", str(practice.doctor.id)):
        refused = await client.post(url, data={**token, "practitioner_id": bad})
        assert refused.status_code == 422, bad
        assert 'id="error-practitioner_id"' in refused.text, bad
    await session.refresh(consultation)
    assert consultation.practitioner_id == practice.doctor.id

    moved = await client.post(url, data={**token, "practitioner_id": str(practice.colleague.id)})
    assert (moved.status_code, moved.headers["location"]) == (303, "/doctor/consultations")
    await session.refresh(consultation)
    assert (consultation.practitioner_id, consultation.status) == (
        practice.colleague.id,
        "waiting",
    )
    # no longer this doctor's
    assert (await client.get(f"/doctor/consultations/{consultation.id}")).status_code == 404


async def test_another_doctor_gets_not_found_and_changes_nothing(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    consultation = await start(session, clock, practice, await make_patient(session, clock=clock))
    stranger = await make_doctor(session, clock=clock, institution=practice.institution)
    token = await _as_doctor(session, client, clock, stranger)
    assert (await client.get(f"/doctor/consultations/{consultation.id}")).status_code == 404
    for action, form in (
        ("accept", {}),
        ("confirm-diagnosis", {}),
        ("close", {"advice": "多喝水"}),
        ("transfer", {"practitioner_id": str(stranger.id)}),
    ):
        refused = await client.post(
            f"/doctor/consultations/{consultation.id}/{action}", data={**token, **form}
        )
        assert refused.status_code == 404, action
    assert f"consultation-{consultation.id}" not in (await client.get("/doctor/consultations")).text
    await session.refresh(consultation)
    assert (consultation.status, consultation.practitioner_id) == ("waiting", practice.doctor.id)
