"""The institution admin's pages of no-shows (爽约, names masked, lifting a suspension early with
a reason) and of scalper flags (the bookings behind each, review with an outcome and a note),
and the no-show API; only the admin's own institution."""

import json
from datetime import date, time

from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.booking.appointments import book_slot
from ihospital.booking.dayof import mark_attendance
from ihospital.booking.dayof_models import BookingSuspension
from ihospital.booking.fairness.flags import PATIENTS_PER_DOCTOR, note_booking
from ihospital.booking.fairness.models import BookingFlag
from ihospital.identity.models import Account
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.booking.test_dayof import _book, _doctor, shanghai
from tests.directory.builders import bearer
from tests.identity.builders import csrf_token, make_account, make_patient
from tests.web.builders import sign_in_as

ENGLISH = {"Accept-Language": "en"}


async def _suspended(session, clock, clinic, *, name: str):
    """A 就诊人 whose three no-shows at ``clinic`` suspended online booking there."""
    patient = await make_patient(session, clock=clock, name=name, age=30, sex="female")
    doctor = await _doctor(session, clinic, clock)
    for day in (date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)):
        view = await make_session(session, clinic, clock=clock, day=day)
        _, appointment = await _book(session, clock, view.slots[0], patient)
        clock.set(shanghai(day, time(9, 30)))
        await mark_attendance(session, doctor, appointment_id=appointment.id, outcome="no_show")
    return patient


async def test_an_admin_sees_masked_no_shows_and_lifts_a_suspension_with_a_reason(
    client, session, clock
):
    clinic = await make_clinic(session, clock=clock)
    patient = await _suspended(session, clock, clinic, name="李小明")
    suspension = await session.scalar(select(BookingSuspension))
    await sign_in_as(session, client, account=clinic.admin, clock=clock)

    schedule = await client.get("/admin/schedule")
    scope = f"?institution_id={clinic.institution.id}"
    assert f'href="/admin/no-shows{scope}"' in schedule.text
    assert f'href="/admin/booking-flags{scope}"' in schedule.text
    page = await client.get("/admin/no-shows")
    assert page.status_code == 200
    assert "李*明" in page.text and "李小明" not in page.text
    assert '<dd class="no-show-count">3</dd>' in page.text and "暂停至 2027-02-24" in page.text
    assert f'for="reason-{suspension.id}"' in page.text
    assert (
        "Suspended until 2027-02-24" in (await client.get("/admin/no-shows", headers=ENGLISH)).text
    )

    token = await csrf_token(client)
    url = f"/admin/no-shows/suspensions/{suspension.id}/lift"
    assert (await client.post(url, data={"reason": "核实"})).status_code == 403
    empty = await client.post(url, data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and f'id="error-reason-{suspension.id}"' in empty.text
    await session.refresh(suspension)
    assert suspension.lifted_at is None
    lifted = await client.post(url, data={"csrf_token": token, "reason": "患者住院，已核实"})
    assert lifted.status_code == 303 and lifted.headers["location"] == "/admin/no-shows"
    await session.refresh(suspension)
    assert (suspension.lift_reason, suspension.lifted_by_account_id) == (
        "患者住院，已核实",
        clinic.admin.id,
    )
    after = await client.get("/admin/no-shows")
    assert "限制已解除" in after.text and "可预约" in after.text
    again = await client.post(url, data={"csrf_token": token, "reason": "再次"})
    assert again.status_code == 303
    assert "该限制已结束或已解除" in (await client.get("/admin/no-shows")).text

    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 28))
    booked = await book_slot(
        session,
        booker(clock, patient),
        slot_id=view.slots[1].id,
        patient_id=patient.id,
        idempotency_key=new_key(),
    )
    assert booked.appointment.status == "confirmed"
    actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("booking.patient.suspension_lift") == 1
    assert "booking.no_shows.list" in actions
    masked = json.loads(
        await session.scalar(
            select(AuditEntry.details).where(
                AuditEntry.action == "patient.cards.read",
                AuditEntry.actor_account_id == clinic.admin.id,
            )
        )
    )
    assert masked == {"patient_ids": [patient.id], "purpose": "booking.no_shows", "masked": True}


async def test_no_shows_are_seen_and_lifted_only_at_the_admins_own_institution(
    client, session, clock
):
    clinic = await make_clinic(session, clock=clock)
    await _suspended(session, clock, clinic, name="周九")
    suspension = await session.scalar(select(BookingSuspension))
    elsewhere = await make_clinic(session, clock=clock)
    await sign_in_as(session, client, account=elsewhere.admin, clock=clock)
    own = await client.get("/admin/no-shows")
    assert own.status_code == 200 and "周*" not in own.text
    assert (
        await client.get(f"/admin/no-shows?institution_id={clinic.institution.id}")
    ).status_code == 403
    refused = await client.post(
        f"/admin/no-shows/suspensions/{suspension.id}/lift",
        data={"csrf_token": await csrf_token(client), "reason": "越权"},
    )
    assert refused.status_code == 404

    stranger = await bearer(session, clock=clock, account=elsewhere.admin)
    base = f"/api/institutions/{clinic.institution.id}"
    assert (await client.get(f"{base}/no-shows", headers=stranger)).status_code == 403
    lift = f"{base}/booking-suspensions/{suspension.id}/lift"
    assert (await client.post(lift, json={"reason": "越权"}, headers=stranger)).status_code == 403
    await session.refresh(suspension)
    assert suspension.lifted_at is None

    admin = await bearer(session, clock=clock, account=clinic.admin)
    listed = (await client.get(f"{base}/no-shows", headers=admin)).json()
    assert [(row["patient"]["name"], row["no_shows"]) for row in listed] == [("周*", 3)]
    assert listed[0]["suspension"]["id"] == suspension.id
    blank = await client.post(lift, json={"reason": ""}, headers=admin)
    assert blank.status_code == 422
    done = await client.post(lift, json={"reason": "核实为系统故障"}, headers=admin)
    assert done.status_code == 200 and done.json()["lift_reason"] == "核实为系统故障"
    twice = await client.post(lift, json={"reason": "再次"}, headers=admin)
    assert twice.status_code == 409 and twice.json()["code"] == "booking.suspension_not_running"


async def _flagged(session, clock, clinic) -> BookingFlag:
    """One account booking the clinic's doctor for PATIENTS_PER_DOCTOR 就诊人: one flag."""
    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 30))
    first = await make_patient(session, clock=clock, name="吴一")
    account = await session.get(Account, first.account_id)
    patients = [first] + [
        await make_patient(session, clock=clock, account=account, relationship="child")
        for _ in range(PATIENTS_PER_DOCTOR - 1)
    ]
    for index, patient in enumerate(patients):
        booked = await book_slot(
            session,
            booker(clock, patient),
            slot_id=view.slots[index].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
        await note_booking(session, booker(clock, patient), view=booked, device_hash="d")
    return await session.scalar(select(BookingFlag))


async def test_an_admin_reviews_a_scalper_flag_with_its_evidence(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    flag = await _flagged(session, clock, clinic)
    await sign_in_as(session, client, account=clinic.admin, clock=clock)
    page = await client.get("/admin/booking-flags")
    assert page.status_code == 200
    assert "同一账号为多名就诊人预约同一医生" in page.text and "张三丰" in page.text
    assert page.text.count("<tr><td>") == PATIENTS_PER_DOCTOR and "吴*" in page.text
    assert "吴一" not in page.text
    assert f'for="outcome-{flag.id}"' in page.text and f'for="note-{flag.id}"' in page.text
    english = await client.get("/admin/booking-flags", headers=ENGLISH)
    assert "One account booked this doctor for many patients" in english.text

    token = await csrf_token(client)
    url = f"/admin/booking-flags/{flag.id}/review"
    missing = await client.post(url, data={"csrf_token": token, "outcome": "", "note": "看看"})
    assert missing.status_code == 422 and f'id="error-outcome-{flag.id}"' in missing.text
    assert "看看" in missing.text
    assert (await client.post(url, data={"outcome": "scalping"})).status_code == 403
    reviewed = await client.post(
        url, data={"csrf_token": token, "outcome": "scalping", "note": "同一账号替多人挂号"}
    )
    assert reviewed.status_code == 303
    await session.refresh(flag)
    assert (flag.status, flag.outcome, flag.review_note) == (
        "reviewed",
        "scalping",
        "同一账号替多人挂号",
    )
    assert "暂无标记" in (await client.get("/admin/booking-flags")).text
    done = await client.get("/admin/booking-flags?status=reviewed")
    assert "确认倒号" in done.text and "同一账号替多人挂号" in done.text
    assert (await client.get("/admin/booking-flags?status=other")).status_code == 422

    elsewhere = await make_clinic(session, clock=clock)
    await sign_in_as(session, client, account=elsewhere.admin, clock=clock)
    assert "吴*" not in (await client.get("/admin/booking-flags")).text
    foreign = await client.get(f"/admin/booking-flags?institution_id={clinic.institution.id}")
    assert foreign.status_code == 403
    refused = await client.post(url, data={"csrf_token": token, "outcome": "legitimate"})
    assert refused.status_code == 404


async def test_a_platform_admin_picks_the_institution_first(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    await _flagged(session, clock, clinic)
    account = await make_account(session, role="platform_admin", clock=clock)
    await sign_in_as(session, client, account=account, clock=clock)
    for path in ("/admin/no-shows", "/admin/booking-flags"):
        chooser = await client.get(path)
        assert f'href="{path}?institution_id={clinic.institution.id}"' in chooser.text
    chosen = await client.get(f"/admin/booking-flags?institution_id={clinic.institution.id}")
    assert chosen.status_code == 200 and "吴*" in chosen.text
    assert f"/review?institution_id={clinic.institution.id}" in chosen.text
