"""The calls of a consultation over HTTP: listed for its patient account and its doctor (the
read audited), not found for anyone else; the video page of each side with the configured ICE
servers and the calls so far; the ICE servers read from ``IHOSPITAL_ICE_SERVERS``."""

from __future__ import annotations

import html
import json
from datetime import timedelta

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.config import IceServer, Settings
from ihospital.consultation.calls import end_call, offer_call, start_call
from ihospital.core.context import Actor
from tests.consultation.builders import doctor_actor
from tests.consultation.chat_builders import Chat, make_chat

BROWSER = {"Accept": "text/html"}
TURN = {"urls": ["turn:turn.example.org:3478"], "username": "ih", "credential": "secret"}


async def _one_call(session, clock, chat: Chat, *, seconds: int) -> None:
    """The doctor calls, the patient answers, the doctor hangs up ``seconds`` later."""
    patient = Actor(role="patient", clock=clock, account_id=chat.consultation.account_id)
    doctor = doctor_actor(clock, chat.practice.doctor)
    await offer_call(session, doctor, consultation_id=chat.consultation.id, sdp="v=0\r\n")
    await start_call(session, patient, consultation_id=chat.consultation.id, hub=None)
    clock.advance(timedelta(seconds=seconds))
    await end_call(session, doctor, consultation_id=chat.consultation.id, hub=None)
    await session.flush()


async def test_both_sides_read_the_calls_and_nobody_else(client, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    await _one_call(session, clock, chat, seconds=192)
    cid = chat.consultation.id
    audited = select(func.count()).where(AuditEntry.action == "consultation.calls_read")
    before = await session.scalar(audited)
    for path, headers in (
        (f"/api/consultations/{cid}/calls", chat.patient),
        (f"/api/doctor/consultations/{cid}/calls", chat.doctor),
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        (call,) = response.json()
        assert (call["consultation_id"], call["duration_seconds"], call["ended_by"]) == (
            cid,
            192,
            "doctor",
        )
    assert await session.scalar(audited) == before + 2
    for path, headers in (
        (f"/api/consultations/{cid}/calls", chat.stranger),
        (f"/api/doctor/consultations/{cid}/calls", chat.colleague),
    ):
        refused = await client.get(path, headers=headers)
        assert refused.status_code == 404
        assert refused.json()["code"] == "consultation.not_found"
    assert (await client.get("/api/consultations/0/calls", headers=chat.patient)).status_code == 422


async def test_the_video_pages_carry_the_ice_servers_and_list_the_calls(
    app, client, session, clock
):
    app.state.settings = app.state.settings.model_copy(
        update={"ice_servers": [IceServer.model_validate(TURN)]}
    )
    chat = await make_chat(session, clock=clock, consultation_type="video")
    await _one_call(session, clock, chat, seconds=65)
    cid = chat.consultation.id
    patient = await client.get(f"/consultations/{cid}/video", headers={**chat.patient, **BROWSER})
    assert patient.status_code == 200
    assert 'data-side="patient"' in patient.text and 'id="call-answer"' in patient.text
    assert f'data-socket="/ws/consultations/{cid}"' in patient.text
    servers = patient.text.split('data-ice-servers="')[1].split('"')[0]
    assert json.loads(html.unescape(servers)) == [TURN]
    assert "1 分 5 秒" in patient.text and "video-call.js" in patient.text

    doctor = await client.get(
        f"/doctor/consultations/{cid}/video", headers={**chat.doctor, **BROWSER}
    )
    assert doctor.status_code == 200 and 'id="call-start"' in doctor.text
    assert f'data-socket="/ws/doctor/consultations/{cid}"' in doctor.text
    assert (
        f'href="/doctor/consultations/{cid}/video"'
        in (
            await client.get(f"/doctor/consultations/{cid}", headers={**chat.doctor, **BROWSER})
        ).text
    )
    assert (
        f'href="/consultations/{cid}/video"'
        in (await client.get(f"/consultations/{cid}", headers={**chat.patient, **BROWSER})).text
    )

    stranger = await client.get(f"/consultations/{cid}/video", headers={**chat.stranger, **BROWSER})
    assert stranger.status_code == 404
    colleague = await client.get(
        f"/doctor/consultations/{cid}/video", headers={**chat.colleague, **BROWSER}
    )
    assert colleague.status_code == 404


async def test_a_text_consultation_has_no_call_on_its_video_page(client, session, clock):
    chat = await make_chat(session, clock=clock)
    cid = chat.consultation.id
    page = await client.get(f"/consultations/{cid}/video", headers={**chat.patient, **BROWSER})
    assert page.status_code == 200
    assert "只有视频问诊才能视频通话" in page.text and 'id="video-call"' not in page.text
    assert "video-call.js" not in page.text
    detail = await client.get(f"/consultations/{cid}", headers={**chat.patient, **BROWSER})
    assert f"/consultations/{cid}/video" not in detail.text


def test_ice_servers_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IHOSPITAL_ICE_SERVERS", json.dumps([{"urls": "stun:127.0.0.1:3478"}, TURN]))
    settings = Settings(data_dir=tmp_path)
    assert [server.model_dump(exclude_none=True) for server in settings.ice_servers] == [
        {"urls": "stun:127.0.0.1:3478"},
        TURN,
    ]
    monkeypatch.delenv("IHOSPITAL_ICE_SERVERS")
    assert Settings(data_dir=tmp_path).ice_servers == []
