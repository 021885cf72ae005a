"""Patients' consultation pages over HTTP: start with a fee (to the bill) or free (to the
waiting consultation), follow it, cancel it, read the advice; refusals show next to their field
and change nothing; another account's consultation is not found; 长辈模式 renders."""

from datetime import date

from sqlalchemy import func, select

from ihospital.billing.models import Order
from ihospital.consultation.models import Consultation
from ihospital.consultation.workstation import accept_consultation, close_consultation
from ihospital.identity.models import Account
from tests.consultation.builders import doctor_actor, make_practice, start
from tests.identity.builders import csrf_token, make_id_number, make_patient
from tests.web.builders import sign_in_as

GUARDIAN_ID = make_id_number(birth_date=date(1990, 3, 1))


async def _signed_in_patient(session, client, clock, **changes):
    patient = await make_patient(session, clock=clock, **changes)
    account = await session.get(Account, patient.account_id)
    await sign_in_as(session, client, account=account, clock=clock)
    return patient


async def _form(client, practice, patient, **changes):
    return {
        "csrf_token": await csrf_token(client),
        "patient_id": str(patient.id),
        "offer": f"{practice.institution.id}-text",
        "complaint": "血压控制不佳，头晕两天",
        **changes,
    }


async def _count(session, model=Consultation):
    return await session.scalar(select(func.count()).select_from(model))


async def test_a_patient_starts_pays_on_the_bill_and_cancels(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=3000)
    patient = await _signed_in_patient(session, client, clock, name="李四")
    doctor_id = practice.doctor.id

    profile = await client.get(f"/doctors/{doctor_id}")
    assert f'href="/doctors/{doctor_id}/consult"' in profile.text
    schedule = await client.get(f"/doctors/{doctor_id}/schedule")
    assert f'href="/doctors/{doctor_id}/consult"' in schedule.text
    page = await client.get(f"/doctors/{doctor_id}/consult")
    assert page.status_code == 200
    assert "图文问诊 · ¥30.00" in page.text and "李四" in page.text
    assert "健康咨询" in page.text and "不做诊断" in page.text

    started = await client.post(
        f"/doctors/{doctor_id}/consult", data=await _form(client, practice, patient)
    )
    [consultation] = (await session.scalars(select(Consultation))).all()
    assert consultation.status == "awaiting_payment"
    assert started.status_code == 303
    assert started.headers["location"] == f"/bills/{consultation.order_id}"
    assert "¥30.00" in (await client.get(started.headers["location"])).text

    mine = await client.get("/consultations")
    assert f'href="/consultations/{consultation.id}"' in mine.text and "待支付" in mine.text
    detail = await client.get(f"/consultations/{consultation.id}")
    assert f'href="/bills/{consultation.order_id}"' in detail.text
    assert "支付 ¥30.00 问诊费后" in detail.text and "健康咨询" in detail.text
    assert "血压控制不佳" in detail.text

    cancelled = await client.post(
        f"/consultations/{consultation.id}/cancel", data={"csrf_token": await csrf_token(client)}
    )
    assert cancelled.status_code == 303
    await session.refresh(consultation)
    assert consultation.status == "cancelled"
    after = await client.get(f"/consultations/{consultation.id}")
    assert "问诊已取消" in after.text and "您已取消" in after.text
    assert f"/consultations/{consultation.id}/cancel" not in after.text


async def test_a_free_consultation_waits_for_the_doctor_with_the_earlier_diagnosis(
    client, session, clock
):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await _signed_in_patient(session, client, clock)
    form = await _form(
        client,
        practice,
        patient,
        prior_institution="北京协和医院",
        prior_diagnosed_on="2026-06-01",
        prior_diagnosis="原发性高血压",
    )
    started = await client.post(f"/doctors/{practice.doctor.id}/consult", data=form)
    [consultation] = (await session.scalars(select(Consultation))).all()
    assert started.headers["location"] == f"/consultations/{consultation.id}"
    assert (consultation.status, consultation.prior_diagnosis) == ("waiting", "原发性高血压")
    detail = await client.get(started.headers["location"])
    assert "问诊已发送给医生" in detail.text and "等待医生接诊" in detail.text
    assert "原发性高血压 · 北京协和医院" in detail.text
    assert await _count(session, Order) == 0


async def test_refused_starts_show_next_to_their_field_and_write_nothing(client, session, clock):
    practice = await make_practice(session, clock=clock)
    adult = await _signed_in_patient(session, client, clock)
    child = await make_patient(
        session,
        clock=clock,
        account=await session.get(Account, adult.account_id),
        age=4,
        relationship="child",
        name="王小明",
    )
    url = f"/doctors/{practice.doctor.id}/consult"
    cases = [
        ({"complaint": " "}, "complaint"),
        ({"offer": "x"}, "offer"),
        ({"offer": f"{practice.institution.id}-fax"}, "offer"),
        ({"patient_id": "abc"}, "patient_id"),
        ({"prior_institution": "北京协和医院"}, "prior_diagnosed_on"),
        (
            {
                "prior_institution": "北京协和医院",
                "prior_diagnosed_on": "2026-13-01",
                "prior_diagnosis": "原发性高血压",
            },
            "prior_diagnosed_on",
        ),
        (
            {"prior_diagnosed_on": "2026-06-01", "prior_diagnosis": "原发性高血压"},
            "prior_diagnosis",
        ),
        ({"patient_id": str(child.id)}, "guardian_present"),
        (
            {"patient_id": str(child.id), "guardian_present": "1", "guardian_name": "1"},
            "guardian_name",
        ),
        (
            {
                "patient_id": str(child.id),
                "guardian_present": "1",
                "guardian_name": "王大明",
                "guardian_relationship": "parent",
                "guardian_id_number": "110101199001011230",
            },
            "guardian_id_number",
        ),
    ]
    for changes, field in cases:
        refused = await client.post(url, data=await _form(client, practice, adult, **changes))
        assert refused.status_code in (409, 422), (changes, refused.status_code)
        assert f'id="error-{field}"' in refused.text, changes
    assert await _count(session) == 0 and await _count(session, Order) == 0

    with_guardian = await _form(
        client,
        practice,
        child,
        guardian_present="1",
        guardian_name="王大明",
        guardian_relationship="parent",
        guardian_id_number=GUARDIAN_ID,
    )
    started = await client.post(url, data=with_guardian)
    assert started.status_code == 303
    [consultation] = (await session.scalars(select(Consultation))).all()
    assert consultation.guardian_name == "王大明" and consultation.guardian_confirmed_at
    assert consultation.guardian_id_number_masked == GUARDIAN_ID[:4] + "*" * 10 + GUARDIAN_ID[-4:]
    assert GUARDIAN_ID not in consultation.guardian_id_number_cipher
    page = await client.get(f"/consultations/{consultation.id}")
    assert consultation.guardian_id_number_masked in page.text and GUARDIAN_ID not in page.text


async def test_another_account_gets_not_found_and_changes_nothing(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    owner = await make_patient(session, clock=clock)
    consultation = await start(session, clock, practice, owner)
    await _signed_in_patient(session, client, clock)
    assert (await client.get(f"/consultations/{consultation.id}")).status_code == 404
    token = await csrf_token(client)
    for action in ("cancel", "guardian"):
        refused = await client.post(
            f"/consultations/{consultation.id}/{action}",
            data={
                "csrf_token": token,
                "guardian_name": "王大明",
                "guardian_relationship": "parent",
            },
        )
        assert refused.status_code == 404, action
    assert f"/consultations/{consultation.id}" not in (await client.get("/consultations")).text
    await session.refresh(consultation)
    assert consultation.status == "waiting"


async def test_the_advice_and_the_booking_link_once_the_doctor_closed(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await _signed_in_patient(session, client, clock)
    consultation = await start(session, clock, practice, patient)
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    await close_consultation(
        session,
        doctor,
        consultation_id=consultation.id,
        advice="请到心内科门诊复查血压",
        visit_in_person=True,
    )
    detail = await client.get(f"/consultations/{consultation.id}")
    assert "请到心内科门诊复查血压" in detail.text and "医生建议您到医院线下就诊" in detail.text
    assert f'href="/doctors/{practice.doctor.id}/schedule"' in detail.text


async def test_elder_mode_renders_the_patient_pages_with_one_primary_action(client, session, clock):
    practice = await make_practice(session, clock=clock)
    patient = await _signed_in_patient(session, client, clock)
    account = await session.get(Account, patient.account_id)
    account.elder_mode = True
    await session.flush()
    consultation = await start(session, clock, practice, patient)
    for url in (
        f"/doctors/{practice.doctor.id}/consult",
        "/consultations",
        f"/consultations/{consultation.id}",
    ):
        page = await client.get(url)
        assert page.status_code == 200, url
        assert '<body class="elder">' in page.text, url
        assert page.text.count("btn-primary") == 1, url


async def test_signed_out_visitors_are_sent_to_sign_in(client, session, clock):
    practice = await make_practice(session, clock=clock)
    page = await client.get(
        f"/doctors/{practice.doctor.id}/consult", headers={"Accept": "text/html"}
    )
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
