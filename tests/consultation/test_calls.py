"""Video calls over the consultation's socket: the doctor's offer, the patient's answer, ICE
candidates and the hang-up relayed to the other side (not stored); the call's start and end
recorded with its duration, audited, published as events and noticed in the chat; only the two
sides of a video consultation in progress may call; bad frames get error frames."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from httpx_ws import AsyncWebSocketSession
from sqlalchemy import func, select, update

from ihospital.audit.models import AuditEntry
from ihospital.consultation.call_models import ConsultationCall
from ihospital.consultation.call_relay import CANDIDATE_MAX_LENGTH, SDP_MAX_LENGTH
from ihospital.consultation.calls import RING_FOR
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.duty_models import DoctorWorkSession
from ihospital.outbox.models import OutboxEvent
from tests.consultation.chat_builders import Chat, make_chat
from tests.realtime.support import assert_nothing_more, open_socket, receive, receive_until

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


def _paths(chat: Chat) -> tuple[str, str]:
    cid = chat.consultation.id
    return f"/ws/consultations/{cid}", f"/ws/doctor/consultations/{cid}"


@asynccontextmanager
async def _both_sides(
    app, chat: Chat, *, language: str = "zh-CN"
) -> AsyncIterator[tuple[AsyncWebSocketSession, AsyncWebSocketSession]]:
    """The patient's and the doctor's sockets, both ready."""
    patient_path, doctor_path = _paths(chat)
    async with (
        open_socket(app, patient_path, headers=chat.patient) as patient,
        open_socket(
            app, doctor_path, headers={**chat.doctor, "Accept-Language": language}
        ) as doctor,
    ):
        assert await receive(patient) == {"type": "ready"}
        assert await receive(doctor) == {"type": "ready"}
        yield patient, doctor


async def _ring(doctor: AsyncWebSocketSession, patient: AsyncWebSocketSession) -> None:
    """The doctor offers a call and both sides see the offer."""
    await doctor.send_json({"type": "call.offer", "sdp": OFFER})
    await receive_until(doctor, "call.offer")
    await receive_until(patient, "call.offer")


async def _call_actions(session) -> list[str]:
    actions = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.like("consultation.call_%"))
        .order_by(AuditEntry.id)
    )
    return list(actions)


async def _calls(session) -> list[ConsultationCall]:
    return list((await session.scalars(select(ConsultationCall))).all())


async def _count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def test_a_call_is_relayed_to_the_other_side_and_recorded_with_its_duration(
    app, session, clock
):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    async with _both_sides(app, chat) as (patient, doctor):
        await doctor.send_json({"type": "call.offer", "sdp": OFFER})
        offer = {"type": "call.offer", "side": "doctor", "sdp": OFFER}
        assert await receive(patient) == offer
        assert await receive(doctor) == offer  # each side sees its own, as with typing
        await doctor.send_json({"type": "call.ice", "candidate": {**CANDIDATE, "extra": 1}})
        ice = await receive(patient)
        assert (ice["side"], ice["candidate"]["candidate"]) == ("doctor", CANDIDATE["candidate"])
        assert "extra" not in ice["candidate"]
        await receive(doctor)
        assert await _calls(session) == []

        await patient.send_json({"type": "call.answer", "sdp": "v=0\r\n"})
        answer = await receive(doctor)
        assert (answer["type"], answer["side"], answer["sdp"]) == (
            "call.answer",
            "patient",
            "v=0\r\n",
        )
        await receive(patient)
        (call,) = await _calls(session)
        assert (answer["call_id"], call.started_at, call.ended_at) == (call.id, clock.now(), None)

        clock.advance(timedelta(minutes=3, seconds=12))
        await patient.send_json({"type": "call.hangup"})
        for socket in (doctor, patient):
            frames = await receive_until(socket, "call.hangup")
            notice, hangup = frames[-2], frames[-1]
            assert notice["message"]["text"] == "视频通话已结束，时长 3 分 12 秒。"
            assert notice["message"]["sender_role"] == "system"
            assert hangup == {
                "type": "call.hangup",
                "side": "patient",
                "call_id": call.id,
                "duration_seconds": 192,
            }
        await assert_nothing_more(doctor)
    await session.refresh(call)
    assert (call.ended_by, call.duration_seconds) == ("patient", 192)
    assert call.ended_at == call.started_at + timedelta(seconds=192)
    assert await _call_actions(session) == [
        "consultation.call_offered",
        "consultation.call_started",
        "consultation.call_ended",
    ]
    event = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.topic == "consultation.call_ended")
    )
    assert event is not None
    payload = json.loads(event.payload)
    assert (payload["call_id"], payload["duration_seconds"], payload["ended_by"]) == (
        call.id,
        192,
        "patient",
    )


async def test_the_notice_is_translated_for_each_reader(app, client, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    async with _both_sides(app, chat) as (patient, doctor):
        await _ring(doctor, patient)
        await patient.send_json({"type": "call.answer", "sdp": OFFER})
        await receive(patient)
        clock.advance(timedelta(seconds=65))
        await patient.send_json({"type": "call.hangup"})
        await receive_until(patient, "call.hangup")
    english = await client.get(chat.doctor_path, headers={**chat.doctor, "Accept-Language": "en"})
    assert english.json()[-1]["text"] == "The video call has ended; it lasted 1 min 5 s."


async def test_a_socket_that_closes_during_a_call_ends_it(app, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    patient_path, doctor_path = _paths(chat)
    async with open_socket(app, doctor_path, headers=chat.doctor) as doctor:
        await receive(doctor)
        async with open_socket(app, patient_path, headers=chat.patient) as patient:
            await receive(patient)
            await _ring(doctor, patient)
            await patient.send_json({"type": "call.answer", "sdp": OFFER})
            await receive(patient)
            await receive(doctor)
            clock.advance(timedelta(seconds=30))
        hangup = (await receive_until(doctor, "call.hangup"))[-1]
        assert (hangup["side"], hangup["duration_seconds"]) == ("patient", 30)
    (call,) = await _calls(session)
    await session.refresh(call)
    assert (call.ended_by, call.duration_seconds) == ("patient", 30)


async def test_a_new_answer_ends_a_call_left_open(app, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    async with _both_sides(app, chat) as (patient, doctor):
        for _ in range(2):
            await _ring(doctor, patient)
            await patient.send_json({"type": "call.answer", "sdp": OFFER})
            await receive_until(patient, "call.answer")
            await receive_until(doctor, "call.answer")
        await patient.send_json({"type": "call.hangup"})
        await receive_until(doctor, "call.hangup")
    calls = await _calls(session)
    for call in calls:
        await session.refresh(call)
    assert [call.ended_by for call in calls] == ["system", "patient"]


async def _answer_refused(patient: AsyncWebSocketSession) -> None:
    await patient.send_json({"type": "call.answer", "sdp": OFFER})
    error = await receive(patient)
    assert (error["type"], error["code"]) == ("error", "consultation.no_call_offered")
    assert error["detail"] and "{" not in error["detail"]


async def test_an_answer_without_a_ringing_offer_is_refused_and_records_nothing(
    app, session, clock
):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    async with _both_sides(app, chat, language="en") as (patient, doctor):
        await _answer_refused(patient)  # the doctor never called
        await _ring(doctor, patient)
        await doctor.send_json({"type": "call.hangup"})  # the doctor gave up before the answer
        await receive_until(patient, "call.hangup")
        await receive_until(doctor, "call.hangup")
        await _answer_refused(patient)
        await _ring(doctor, patient)
        clock.advance(RING_FOR + timedelta(seconds=1))  # nobody answered in time
        await _answer_refused(patient)
        await _ring(doctor, patient)
        await patient.send_json({"type": "call.answer", "sdp": OFFER})
        await receive_until(doctor, "call.answer")
        await receive_until(patient, "call.answer")
        await patient.send_json({"type": "call.hangup"})
        await receive_until(patient, "call.hangup")
        await receive_until(doctor, "call.hangup")
        await _answer_refused(patient)  # the offer was used up by the call it started
        await assert_nothing_more(doctor)
    assert len(await _calls(session)) == 1
    assert await _call_actions(session) == [
        "consultation.call_offered",
        "consultation.call_cancelled",
        "consultation.call_offered",
        "consultation.call_offered",
        "consultation.call_started",
        "consultation.call_ended",
    ]


async def test_an_answer_in_another_language_names_the_missing_offer(app, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    patient_path, _ = _paths(chat)
    async with open_socket(app, patient_path, headers=chat.patient) as patient:
        await receive(patient)
        await patient.send_json({"type": "call.answer", "sdp": OFFER})
        error = await receive(patient)
        assert error["code"] == "consultation.no_call_offered"
        assert error["detail"] == "医生尚未发起通话，暂无可接听的通话。"
    assert await _calls(session) == []


async def test_only_the_doctor_offers_and_only_the_patient_answers(app, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    async with _both_sides(app, chat) as (patient, doctor):
        await patient.send_json({"type": "call.offer", "sdp": OFFER})
        assert (await receive(patient))["code"] == "consultation.call_wrong_side"
        await doctor.send_json({"type": "call.answer", "sdp": OFFER})
        assert (await receive(doctor))["code"] == "consultation.call_wrong_side"
        await assert_nothing_more(patient)
        await assert_nothing_more(doctor)
    assert await _calls(session) == []


async def test_a_text_consultation_or_one_not_in_progress_refuses_calls(
    app, client, session, clock
):
    text = await make_chat(session, clock=clock)
    waiting = await make_chat(session, clock=clock, consultation_type="video", accepted=False)
    closed = await make_chat(session, clock=clock, consultation_type="video")
    ended = await client.post(
        f"/api/doctor/consultations/{closed.consultation.id}/close",
        json={"advice": "多喝水", "visit_in_person": True},
        headers=closed.doctor,
    )
    assert ended.status_code == 200, ended.text
    cases = (
        (text, "consultation.not_video"),
        (waiting, "consultation.call_not_in_progress"),
        (closed, "consultation.call_not_in_progress"),
    )
    for chat, code in cases:
        _, doctor_path = _paths(chat)
        async with open_socket(
            app, doctor_path, headers={**chat.doctor, "Accept-Language": "en"}
        ) as doctor:
            await receive(doctor)
            for frame in (
                {"type": "call.offer", "sdp": OFFER},
                {"type": "call.ice", "candidate": CANDIDATE},
            ):
                await doctor.send_json(frame)
                error = await receive(doctor)
                assert (error["type"], error["code"]) == ("error", code)
                assert error["detail"] and "{" not in error["detail"]
            await assert_nothing_more(doctor)
    assert await _calls(session) == []


async def test_another_patient_or_doctor_cannot_signal(app, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    patient_path, doctor_path = _paths(chat)
    for path, headers in ((patient_path, chat.stranger), (doctor_path, chat.colleague)):
        async with open_socket(app, path, headers=headers) as socket:
            assert (await receive(socket))["code"] == "consultation.not_found"
    async with open_socket(app, patient_path, headers=chat.doctor) as socket:
        assert (await receive(socket))["code"] == "auth.forbidden"


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "call.offer"}, "sdp"),
        ({"type": "call.offer", "sdp": 5}, "sdp"),
        ({"type": "call.offer", "sdp": "  "}, "sdp"),
        ({"type": "call.offer", "sdp": "v" * (SDP_MAX_LENGTH + 1)}, "sdp"),
        ({"type": "call.ice"}, "candidate"),
        ({"type": "call.ice", "candidate": "candidate:1"}, "candidate"),
        ({"type": "call.ice", "candidate": {"candidate": 7}}, "candidate"),
        (
            {"type": "call.ice", "candidate": {"candidate": "c" * (CANDIDATE_MAX_LENGTH + 1)}},
            "candidate",
        ),
        ({"type": "call.ice", "candidate": {**CANDIDATE, "sdpMLineIndex": True}}, "sdpMLineIndex"),
        ({"type": "call.ice", "candidate": {**CANDIDATE, "sdpMLineIndex": -1}}, "sdpMLineIndex"),
        ({"type": "call.ice", "candidate": {**CANDIDATE, "sdpMid": ["0"]}}, "sdpMid"),
        (
            {"type": "call.ice", "candidate": {**CANDIDATE, "usernameFragment": 3}},
            "usernameFragment",
        ),
    ],
    ids=[
        "offer-without-sdp",
        "offer-sdp-number",
        "offer-sdp-blank",
        "offer-sdp-too-long",
        "ice-without-candidate",
        "ice-candidate-string",
        "ice-candidate-line-number",
        "ice-candidate-line-too-long",
        "ice-line-index-bool",
        "ice-line-index-negative",
        "ice-mid-list",
        "ice-fragment-number",
    ],
)
async def test_a_bad_call_frame_gets_an_error_frame_and_nothing_is_relayed(
    app, session, clock, frame, field
):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    messages = await _count(session, ConsultationMessage)
    async with _both_sides(app, chat, language="en") as (patient, doctor):
        await doctor.send_json(frame)
        error = await receive(doctor)
        assert (error["code"], error["field"]) == ("consultation.bad_call_frame", field)
        assert error["detail"] == f'"{field}" is missing or not valid in this call frame.'
        await assert_nothing_more(patient)
    assert await _count(session, ConsultationMessage) == messages


async def test_a_doctor_without_a_verified_working_session_cannot_call(app, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    await session.execute(update(DoctorWorkSession).values(ended_at=clock.now()))  # R04
    async with _both_sides(app, chat) as (patient, doctor):
        await doctor.send_json({"type": "call.offer", "sdp": OFFER})
        error = await receive(doctor)
        assert (error["code"], error["link"]) == (
            "consultation.doctor_session_required",
            "/doctor/work-session",
        )
        await assert_nothing_more(patient)
    assert await _call_actions(session) == []
