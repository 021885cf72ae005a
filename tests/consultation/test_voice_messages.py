"""Voice messages (语音消息): a clip uploaded by either side makes a message of kind ``voice``
with how long it plays, over HTTP and over the socket; the other side, and only they, may play
it; a clip of someone else cannot be sent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.chat_models import ConsultationMessage
from tests.consultation.chat_builders import make_chat
from tests.files.audio_builders import mp4_aac, ogg_opus, webm_opus
from tests.files.builders import upload
from tests.realtime.support import open_socket, receive


async def _upload_clip(client, headers, *, data: bytes, name: str) -> int:
    uploaded = await upload(client, headers, data=data, name=name, declared_type="audio/webm")
    assert uploaded.status_code == 201, uploaded.text
    return uploaded.json()["id"]


@pytest.mark.parametrize("consultation_type", ["voice", "text"])
async def test_a_patients_voice_clip_reaches_the_doctor_with_its_duration(
    client, session, clock, consultation_type
):
    chat = await make_chat(session, clock=clock, consultation_type=consultation_type)
    file_id = await _upload_clip(client, chat.patient, data=webm_opus(seconds=7), name="a.webm")
    described = await client.get(f"/api/files/{file_id}", headers=chat.patient)
    assert described.json()["content_type"] == "audio/webm"
    duration = described.json()["duration_ms"]
    assert 6960 <= duration <= 7000  # to the start of the last 20 ms block
    sent = await client.post(chat.patient_path, json={"file_id": file_id}, headers=chat.patient)
    assert sent.status_code == 201, sent.text
    assert (sent.json()["kind"], sent.json()["duration_ms"], sent.json()["text"]) == (
        "voice",
        duration,
        None,
    )
    listed = (await client.get(chat.doctor_path, headers=chat.doctor)).json()
    assert [(m["kind"], m["duration_ms"]) for m in listed][-1] == ("voice", duration)
    assert [m["duration_ms"] for m in listed][0] is None  # the notice
    played = await client.get(f"/api/files/{file_id}/content", headers=chat.doctor)
    assert (played.status_code, played.headers["content-type"]) == (200, "audio/webm")
    assert played.content == webm_opus(seconds=7)
    colleague = await client.get(f"/api/files/{file_id}/content", headers=chat.colleague)
    assert colleague.status_code == 404
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "consultation.message_send")
    )
    assert entry is not None and '"kind": "voice"' in entry.details


async def test_the_doctor_answers_by_voice_over_the_socket(app, client, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="voice")
    file_id = await _upload_clip(client, chat.doctor, data=mp4_aac(seconds=4), name="r.m4a")
    cid = chat.consultation.id
    async with (
        open_socket(app, f"/ws/consultations/{cid}", headers=chat.patient) as patient,
        open_socket(app, f"/ws/doctor/consultations/{cid}", headers=chat.doctor) as doctor,
    ):
        assert await receive(patient) == {"type": "ready"}
        assert await receive(doctor) == {"type": "ready"}
        await doctor.send_json({"type": "message", "file_id": file_id})
        frames = [await receive(patient), await receive(doctor)]
    assert frames[0] == frames[1]
    message = frames[0]["message"]
    assert (message["kind"], message["sender_role"], message["file_id"]) == (
        "voice",
        "doctor",
        file_id,
    )
    assert abs(message["duration_ms"] - 4000) <= 30
    played = await client.get(f"/api/files/{file_id}/content", headers=chat.patient)
    assert (played.status_code, played.headers["content-type"]) == (200, "audio/mp4")


async def test_someone_elses_clip_cannot_be_sent_nor_played(client, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="voice")
    theirs = await _upload_clip(client, chat.stranger, data=ogg_opus(seconds=2), name="x.ogg")
    refused = await client.post(chat.patient_path, json={"file_id": theirs}, headers=chat.patient)
    assert (refused.status_code, refused.json()["code"]) == (404, "files.not_found")
    mine = await _upload_clip(client, chat.patient, data=ogg_opus(seconds=2), name="y.ogg")
    intruding = await client.post(chat.patient_path, json={"file_id": mine}, headers=chat.stranger)
    assert intruding.status_code == 404
    for headers in (chat.stranger, chat.colleague, chat.doctor):  # nothing was sent yet
        played = await client.get(f"/api/files/{mine}/content", headers=headers)
        assert played.status_code == 404
    kinds = (await session.scalars(select(ConsultationMessage.kind))).all()
    assert "voice" not in kinds


async def test_a_long_or_disguised_clip_is_refused_at_upload(client, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="voice")
    long = await upload(client, chat.patient, data=webm_opus(seconds=75), name="a.webm")
    assert (long.status_code, long.json()["code"]) == (422, "files.voice_too_long")
    assert long.headers["content-type"].startswith("application/problem+json")
    assert "60" in long.json()["detail"]
    video = await upload(
        client, chat.patient, data=webm_opus(seconds=3, video_track=True), name="v.webm"
    )
    assert (video.status_code, video.json()["code"]) == (415, "files.unsupported_type")


async def test_a_clip_is_served_in_byte_ranges_as_safari_asks(client, session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="voice")
    clip = mp4_aac(seconds=2)
    file_id = await _upload_clip(client, chat.patient, data=clip, name="s.m4a")
    path = f"/api/files/{file_id}/content"
    first = await client.get(path, headers={**chat.patient, "Range": "bytes=0-1"})
    assert (first.status_code, first.content) == (206, clip[:2])
    assert first.headers["content-range"] == f"bytes 0-1/{len(clip)}"
    tail = await client.get(path, headers={**chat.patient, "Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, clip[-10:])
    for ignored in ("bytes=5-2", f"bytes={len(clip)}-", "bytes=0-1,4-5", "items=0-1"):
        whole = await client.get(path, headers={**chat.patient, "Range": ignored})
        assert (whole.status_code, whole.content) == (200, clip), ignored
    stranger = await client.get(path, headers={**chat.stranger, "Range": "bytes=0-1"})
    assert stranger.status_code == 404
