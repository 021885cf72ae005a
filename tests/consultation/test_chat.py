"""The consultation chat over HTTP (also the polling fallback of pages without JavaScript):
patient and doctor exchange messages in order, with the lifecycle's system notices; sending is
refused before the doctor accepts, after a cancellation and after the follow-up time; nobody
else reads or writes; attachments let the doctor, and no other doctor, read the file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.chat import FOLLOW_UP_HOURS, PAGE_SIZE, TEXT_MAX_LENGTH
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.chat_send import send_message
from ihospital.consultation.lifecycle import cancel_consultation
from ihospital.consultation.timers import close_inactive
from ihospital.core.context import Actor
from ihospital.errors import PROBLEM_JSON
from tests.consultation.chat_builders import headers_of, make_chat
from tests.files.builders import jpeg_with_gps, upload


async def _count(session) -> int:
    return await session.scalar(select(func.count()).select_from(ConsultationMessage))


async def test_patient_and_doctor_exchange_messages_in_order_after_the_notice(
    client, session, clock
):
    chat = await make_chat(session, clock=clock)
    sent = await client.post(chat.patient_path, json={"text": " 头还是晕 "}, headers=chat.patient)
    assert sent.status_code == 201, sent.text
    assert (sent.json()["sender_role"], sent.json()["text"]) == ("patient", "头还是晕")
    answer = await client.post(chat.doctor_path, json={"text": "请测血压"}, headers=chat.doctor)
    assert answer.status_code == 201, answer.text

    listed = (await client.get(chat.doctor_path, headers=chat.doctor)).json()
    assert [(m["sender_role"], m["kind"], m["text"]) for m in listed] == [
        ("system", "system", "医生已接诊。"),
        ("patient", "text", "头还是晕"),
        ("doctor", "text", "请测血压"),
    ]
    english = {**chat.patient, "Accept-Language": "en"}
    after = listed[0]["id"]
    polled = (await client.get(f"{chat.patient_path}?after={after}", headers=english)).json()
    assert [m["id"] for m in polled] == [m["id"] for m in listed[1:]]
    notice = (await client.get(chat.patient_path, headers=english)).json()[0]
    assert notice["text"] == "The doctor has accepted the consultation."


async def test_a_page_holds_at_most_a_hundred_and_each_page_read_is_audited_once(
    client, session, clock
):
    chat = await make_chat(session, clock=clock)
    for n in range(PAGE_SIZE + 1):
        sent = await client.post(chat.patient_path, json={"text": f"#{n}"}, headers=chat.patient)
        assert sent.status_code == 201
    audited = select(func.count()).where(AuditEntry.action == "consultation.messages_read")
    before = await session.scalar(audited)
    first = (await client.get(chat.patient_path, headers=chat.patient)).json()
    second = (
        await client.get(f"{chat.patient_path}?after={first[-1]['id']}", headers=chat.patient)
    ).json()
    assert (len(first), len(second)) == (PAGE_SIZE, 2)  # the notice and 101 messages
    assert await session.scalar(audited) == before + 2


async def test_sending_before_the_doctor_accepts_or_after_cancelling_is_refused(
    client, session, clock
):
    chat = await make_chat(session, clock=clock, accepted=False)
    waiting = await client.post(chat.patient_path, json={"text": "在吗"}, headers=chat.patient)
    assert waiting.status_code == 409
    assert waiting.json()["code"] == "consultation.chat_not_started"
    owner = Actor(role="patient", clock=clock, account_id=chat.consultation.account_id)
    await cancel_consultation(session, owner, consultation_id=chat.consultation.id)
    await session.flush()
    cancelled = await client.post(chat.patient_path, json={"text": "在吗"}, headers=chat.patient)
    assert (cancelled.status_code, cancelled.json()["code"]) == (409, "consultation.chat_closed")
    assert await _count(session) == 0


async def test_follow_up_questions_are_taken_for_72_hours_after_closing(client, session, clock):
    chat = await make_chat(session, clock=clock)
    cid = chat.consultation.id
    closed = await client.post(
        f"/api/doctor/consultations/{cid}/close",
        json={"advice": "按时服药", "visit_in_person": False},
        headers=chat.doctor,
    )
    assert closed.json()["status"] == "closed", closed.text
    clock.advance(timedelta(hours=FOLLOW_UP_HOURS - 1))
    chat.patient = await headers_of(session, clock, chat.consultation.account_id)
    chat.doctor = await headers_of(session, clock, chat.practice.doctor.account_id)
    question = await client.post(chat.patient_path, json={"text": "药吃完了"}, headers=chat.patient)
    assert question.status_code == 201, question.text
    reply = await client.post(chat.doctor_path, json={"text": "可以续方"}, headers=chat.doctor)
    assert reply.status_code == 201, reply.text
    count = await _count(session)
    clock.advance(timedelta(hours=1))
    chat.patient = await headers_of(session, clock, chat.consultation.account_id)
    late = await client.post(chat.patient_path, json={"text": "还在吗"}, headers=chat.patient)
    assert late.status_code == 409 and late.headers["content-type"].startswith(PROBLEM_JSON)
    assert late.json()["code"] == "consultation.follow_up_over"
    assert late.json()["hours"] == FOLLOW_UP_HOURS and "72" in late.json()["detail"]
    assert await _count(session) == count
    texts = [m["text"] for m in (await client.get(chat.patient_path, headers=chat.patient)).json()]
    assert texts[-3:] == ["本次问诊已结束。", "药吃完了", "可以续方"]


async def test_another_patient_or_doctor_finds_no_such_consultation(client, session, clock):
    chat = await make_chat(session, clock=clock)
    calls = [
        (chat.stranger, chat.patient_path),
        (chat.colleague, chat.doctor_path),
    ]
    for headers, path in calls:
        assert (await client.get(path, headers=headers)).status_code == 404
        posted = await client.post(path, json={"text": "偷看"}, headers=headers)
        assert (posted.status_code, posted.json()["code"]) == (404, "consultation.not_found")
        read = await client.post(f"{path}/read", json={"up_to": 1}, headers=headers)
        assert read.status_code == 404
    assert await _count(session) == 1  # the acceptance notice only


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": "字" * (TEXT_MAX_LENGTH + 1)},
        {"text": "头晕\x00"},
        {"text": "\x1b[31m红"},
    ],
    ids=["nothing", "empty", "blank", "too-long", "nul", "escape"],
)
async def test_a_message_without_text_or_with_too_much_is_refused(client, session, clock, body):
    chat = await make_chat(session, clock=clock)
    refused = await client.post(chat.patient_path, json=body, headers=chat.patient)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "consultation.message_invalid"
    assert refused.json()["field"] == "text"
    assert await _count(session) == 1


async def test_an_attachment_is_readable_by_the_doctor_and_no_other_doctor(client, session, clock):
    chat = await make_chat(session, clock=clock)
    uploaded = await upload(client, chat.patient, data=jpeg_with_gps())
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    assert (await client.get(f"/api/files/{file_id}", headers=chat.doctor)).status_code == 404
    sent = await client.post(
        chat.patient_path, json={"file_id": file_id, "text": "化验单"}, headers=chat.patient
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["kind"], sent.json()["file_id"]) == ("image", file_id)
    assert (await client.get(f"/api/files/{file_id}", headers=chat.doctor)).status_code == 200
    assert (await client.get(f"/api/files/{file_id}", headers=chat.colleague)).status_code == 404


async def test_someone_elses_file_cannot_be_attached(client, session, clock):
    chat = await make_chat(session, clock=clock)
    theirs = (await upload(client, chat.stranger, data=jpeg_with_gps())).json()["id"]
    refused = await client.post(chat.patient_path, json={"file_id": theirs}, headers=chat.patient)
    assert (refused.status_code, refused.json()["code"]) == (404, "files.not_found")
    assert await _count(session) == 1


async def test_a_read_receipt_marks_the_other_sides_messages_up_to_an_id(client, session, clock):
    chat = await make_chat(session, clock=clock)
    ids = []
    for text in ("一", "二", "三"):
        sent = await client.post(chat.doctor_path, json={"text": text}, headers=chat.doctor)
        ids.append(sent.json()["id"])
    own = await client.post(chat.patient_path, json={"text": "好"}, headers=chat.patient)
    read = await client.post(
        f"{chat.patient_path}/read", json={"up_to": own.json()["id"]}, headers=chat.patient
    )
    assert read.json() == {"marked": 3}
    again = await client.post(
        f"{chat.patient_path}/read", json={"up_to": ids[-1]}, headers=chat.patient
    )
    assert again.json() == {"marked": 0}
    listed = (await client.get(chat.doctor_path, headers=chat.doctor)).json()
    read_ones = {m["id"] for m in listed if m["read_at"] is not None}
    assert read_ones == set(ids)  # not the patient's own message, nor the notice
    bad = await client.post(f"{chat.patient_path}/read", json={"up_to": 0}, headers=chat.patient)
    assert bad.status_code == 422


async def test_each_message_starts_the_inactivity_limit_again(session, clock):
    chat = await make_chat(session, clock=clock)
    clock.advance(timedelta(hours=47))
    owner = Actor(role="patient", clock=clock, account_id=chat.consultation.account_id)
    await send_message(
        session, owner, consultation_id=chat.consultation.id, text="还有点晕", hub=None
    )
    clock.advance(timedelta(hours=2))
    await close_inactive(session, Actor.system(clock), consultation_id=chat.consultation.id)
    assert chat.consultation.status == "in_progress"
    clock.advance(timedelta(hours=47))
    await close_inactive(session, Actor.system(clock), consultation_id=chat.consultation.id)
    assert chat.consultation.status == "closed"


async def test_after_a_transfer_the_new_doctor_reads_the_chat_and_the_old_one_no_longer(
    client, session, clock
):
    chat = await make_chat(session, clock=clock)
    await client.post(chat.patient_path, json={"text": "头晕"}, headers=chat.patient)
    uploaded = await upload(client, chat.patient, data=jpeg_with_gps())
    file_id = uploaded.json()["id"]
    await client.post(chat.patient_path, json={"file_id": file_id}, headers=chat.patient)
    assert (await client.get(f"/api/files/{file_id}", headers=chat.colleague)).status_code == 404
    moved = await client.post(
        f"/api/doctor/consultations/{chat.consultation.id}/transfer",
        json={"practitioner_id": chat.practice.colleague.id},
        headers=chat.doctor,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "in_progress"  # the patient was seen: it goes on
    assert (await client.get(chat.doctor_path, headers=chat.doctor)).status_code == 404
    listed = (await client.get(chat.doctor_path, headers=chat.colleague)).json()
    assert [m["text"] for m in listed] == ["医生已接诊。", "头晕", None, "本次问诊已转给其他医生。"]
    assert (await client.get(f"/api/files/{file_id}", headers=chat.colleague)).status_code == 200
    going_on = await client.post(chat.patient_path, json={"text": "还在吗"}, headers=chat.patient)
    assert going_on.status_code == 201, going_on.text
    cancelled = await client.post(
        f"/api/consultations/{chat.consultation.id}/cancel", headers=chat.patient
    )
    assert cancelled.json()["code"] == "consultation.not_cancellable"
