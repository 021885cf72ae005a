"""The consultation chat over WebSocket: messages stored then delivered to both sides in order,
sent over the socket too; a client that reconnects resumes without loss or repeats; typing and
read receipts relayed; bad frames answered with error frames; strangers refused (4403); delivery
across processes through Redis."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from httpx_ws import WebSocketDisconnect
from sqlalchemy import func, select

from ihospital.app import create_app
from ihospital.audit.models import AuditEntry
from ihospital.consultation.chat import FOLLOW_UP_HOURS
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.realtime.socket import CLOSE_FORBIDDEN
from tests.conftest import make_settings
from tests.consultation.chat_builders import Chat, headers_of, make_chat
from tests.realtime.support import (
    assert_nothing_more,
    open_socket,
    receive,
    receive_until,
    redis_hubs,  # noqa: F401  (fixture)
)


def _paths(chat: Chat) -> tuple[str, str]:
    cid = chat.consultation.id
    return f"/ws/consultations/{cid}", f"/ws/doctor/consultations/{cid}"


async def _post(client: httpx.AsyncClient, chat: Chat, text: str, *, doctor=False) -> int:
    path, headers = (chat.doctor_path, chat.doctor) if doctor else (chat.patient_path, chat.patient)
    sent = await client.post(path, json={"text": text}, headers=headers)
    assert sent.status_code == 201, sent.text
    return sent.json()["id"]


async def _count(session) -> int:
    return await session.scalar(select(func.count()).select_from(ConsultationMessage))


async def test_messages_reach_both_sides_live_and_can_be_sent_over_the_socket(
    app, client, session, clock
):
    chat = await make_chat(session, clock=clock)
    patient_path, doctor_path = _paths(chat)
    async with (
        open_socket(app, patient_path, headers=chat.patient) as patient,
        open_socket(app, doctor_path, headers=chat.doctor) as doctor,
    ):
        assert await receive(patient) == {"type": "ready"}
        assert await receive(doctor) == {"type": "ready"}
        posted = await _post(client, chat, "头晕")
        for socket in (patient, doctor):
            frame = await receive(socket)
            assert (frame["type"], frame["id"]) == ("message", posted)
            assert (frame["message"]["sender_role"], frame["message"]["text"]) == (
                "patient",
                "头晕",
            )

        await doctor.send_json({"type": "message", "text": "请量血压"})
        replies = [await receive(patient), await receive(doctor)]
        assert replies[0] == replies[1]
        assert replies[0]["id"] > posted and replies[0]["message"]["sender_role"] == "doctor"

        await patient.send_json({"type": "typing"})
        assert await receive(doctor) == {"type": "typing", "side": "patient"}
        assert await receive(patient) == {"type": "typing", "side": "patient"}

        await patient.send_json({"type": "read", "up_to": replies[0]["id"]})
        receipt = await receive(doctor)
        assert (receipt["type"], receipt["side"], receipt["up_to"]) == (
            "read",
            "patient",
            replies[0]["id"],
        )
        await receive(patient)
        await assert_nothing_more(doctor)
    stored = (
        await session.scalars(select(ConsultationMessage).order_by(ConsultationMessage.id))
    ).all()
    assert [m.text for m in stored][-2:] == ["头晕", "请量血压"]
    assert stored[-1].read_at is not None


async def test_a_reconnecting_client_misses_nothing_and_gets_nothing_twice(
    app, client, session, clock
):
    chat = await make_chat(session, clock=clock)
    patient_path, _ = _paths(chat)
    async with open_socket(app, f"{patient_path}?after=0", headers=chat.patient) as socket:
        frames = await receive_until(socket, "ready")
        notice = frames[0]
        assert notice["message"]["text"] == "医生已接诊。" and len(frames) == 2
        first = [await _post(client, chat, f"#{n}") for n in range(2)]
        assert [(await receive(socket))["id"] for _ in range(2)] == first
    missed = [await _post(client, chat, f"离线 {n}", doctor=n % 2 == 1) for n in range(5)]

    async with open_socket(
        app, f"{patient_path}?after={first[-1]}", headers=chat.patient
    ) as socket:
        frames = await receive_until(socket, "ready")
        assert [frame["id"] for frame in frames[:-1]] == missed
        live = await _post(client, chat, "又来了", doctor=True)
        assert (await receive(socket))["id"] == live
        await socket.send_json({"type": "resume", "after": 0})  # only what it has not sent
        assert [(await receive(socket))["id"] for _ in range(3)] == [notice["id"], *first]
        await assert_nothing_more(socket)
    ids = [notice["id"], *first, *missed, live]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_opening_a_socket_is_audited_once(app, client, session, clock):
    chat = await make_chat(session, clock=clock)
    for n in range(3):
        await _post(client, chat, f"#{n}")
    audited = select(func.count()).where(AuditEntry.action == "consultation.messages_read")
    before = await session.scalar(audited)
    patient_path, _ = _paths(chat)
    async with open_socket(app, f"{patient_path}?after=0", headers=chat.patient) as socket:
        assert len(await receive_until(socket, "ready")) == 5
    assert await session.scalar(audited) == before + 1


async def test_another_patient_or_doctor_is_refused(app, session, clock):
    chat = await make_chat(session, clock=clock)
    patient_path, doctor_path = _paths(chat)
    for path, headers in ((patient_path, chat.stranger), (doctor_path, chat.colleague)):
        async with open_socket(app, f"{path}?after=0", headers=headers) as socket:
            frame = await receive(socket)
            with pytest.raises(WebSocketDisconnect) as closed:
                await receive(socket)
        assert (frame["code"], closed.value.code) == ("consultation.not_found", CLOSE_FORBIDDEN)
    async with open_socket(app, patient_path, headers=chat.doctor) as socket:
        assert (await receive(socket))["code"] == "auth.forbidden"  # the doctor's side is apart
    for beyond in (0, 2**63):
        async with open_socket(app, f"/ws/consultations/{beyond}", headers=chat.patient) as socket:
            assert (await receive(socket))["code"] == "consultation.not_found"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "realtime.invalid_json"),
        (json.dumps({"type": "message", "text": 5}), "consultation.bad_frame_field"),
        (json.dumps({"type": "message", "file_id": "7"}), "consultation.bad_frame_field"),
        (json.dumps({"type": "message", "file_id": True}), "consultation.bad_frame_field"),
        (json.dumps({"type": "message"}), "consultation.message_invalid"),
        (json.dumps({"type": "message", "text": "字" * 2001}), "consultation.message_invalid"),
        (json.dumps({"type": "message", "file_id": 999_999}), "files.not_found"),
        (json.dumps({"type": "read"}), "consultation.bad_frame_field"),
        (json.dumps({"type": "read", "up_to": -3}), "consultation.bad_frame_field"),
        (json.dumps({"type": "shout"}), "realtime.unknown_type"),
    ],
)
async def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays_usable(
    app, client, session, clock, frame, code
):
    chat = await make_chat(session, clock=clock)
    before = await _count(session)
    patient_path, _ = _paths(chat)
    async with open_socket(
        app, patient_path, headers={**chat.patient, "Accept-Language": "en"}
    ) as socket:
        await receive(socket)
        await socket.send_text(frame)
        error = await receive(socket)
        assert (error["type"], error["code"]) == ("error", code)
        assert error["detail"] and "{" not in error["detail"]
        assert await _count(session) == before
        posted = await _post(client, chat, "还在")
        assert (await receive(socket))["id"] == posted


async def test_a_closed_consultation_refuses_socket_messages_after_the_follow_up_time(
    app, client, session, clock
):
    chat = await make_chat(session, clock=clock)
    closed = await client.post(
        f"/api/doctor/consultations/{chat.consultation.id}/close",
        json={"advice": "多喝水", "visit_in_person": True},
        headers=chat.doctor,
    )
    assert closed.status_code == 200, closed.text
    clock.advance(timedelta(hours=FOLLOW_UP_HOURS))
    chat.patient = await headers_of(session, clock, chat.consultation.account_id)
    patient_path, _ = _paths(chat)
    async with open_socket(app, f"{patient_path}?after=0", headers=chat.patient) as socket:
        frames = await receive_until(socket, "ready")
        assert frames[-2]["message"]["text"] == "本次问诊已结束。"
        count = await _count(session)
        await socket.send_json({"type": "message", "text": "再问一句"})
        error = await receive(socket)
        assert (error["code"], error["hours"]) == ("consultation.follow_up_over", FOLLOW_UP_HOURS)
        await assert_nothing_more(socket)
    assert await _count(session) == count


async def test_messages_cross_processes_through_redis_in_order(
    tmp_path,
    clock,
    engine,
    session_factory,
    session,
    redis_hubs,  # noqa: F811
):
    apps = []
    for hub in (redis_hubs(), redis_hubs()):
        app = create_app(
            make_settings(tmp_path), clock=clock, engine=engine, services={"realtime_hub": hub}
        )
        app.state.sessionmaker = session_factory
        apps.append(app)
    chat = await make_chat(session, clock=clock)
    patient_path, doctor_path = _paths(chat)
    transport = httpx.ASGITransport(app=apps[1])
    async with (
        httpx.AsyncClient(transport=transport, base_url="https://testserver") as other_process,
        open_socket(apps[0], patient_path, headers=chat.patient) as patient,
    ):
        assert await receive(patient) == {"type": "ready"}
        sent = [await _post(other_process, chat, f"#{n}", doctor=True) for n in range(20)]
        assert [(await receive(patient))["id"] for _ in range(20)] == sent
        async with open_socket(apps[1], doctor_path, headers=chat.doctor) as doctor:
            assert await receive(doctor) == {"type": "ready"}
            await patient.send_json({"type": "typing"})
            assert await receive(doctor) == {"type": "typing", "side": "patient"}
            await patient.send_json({"type": "message", "text": "收到"})
            assert (await receive(doctor))["message"]["text"] == "收到"
