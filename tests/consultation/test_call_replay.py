"""A video call survives a reloaded page (docs/realtime.md): a side whose consultation socket
(re)connects while the doctor's offer rings gets the offer after ``ready`` and can still answer;
a call that ended, was withdrawn or stopped ringing while it was away is shown as ended."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ihospital.consultation.call_models import ConsultationCall, ConsultationCallOffer
from ihospital.consultation.calls import RING_FOR
from tests.consultation.chat_builders import make_chat
from tests.consultation.test_calls import OFFER, _paths
from tests.realtime.support import assert_nothing_more, open_socket, receive, receive_until

REPLAYED_OFFER = {"type": "call.offer", "side": "doctor", "sdp": OFFER, "replayed": True}
REPLAYED_END = {"type": "call.hangup", "side": "system", "call_id": None, "replayed": True}


async def _video(session, clock):
    chat = await make_chat(session, clock=clock, consultation_type="video")
    return chat, *_paths(chat)


async def _hang_up(doctor, *others) -> None:
    """The doctor hangs up and every side open sees it (before the sockets close, so that no
    two of them end the call at once)."""
    await doctor.send_json({"type": "call.hangup"})
    for socket in (doctor, *others):
        await receive_until(socket, "call.hangup")


async def _doctor_rings(doctor, patient=None) -> None:
    assert await receive(doctor) == {"type": "ready"}
    await doctor.send_json({"type": "call.offer", "sdp": OFFER})
    await receive_until(doctor, "call.offer")
    if patient is not None:
        await receive_until(patient, "call.offer")


async def test_a_patient_who_reloads_while_it_rings_gets_the_offer_and_answers(app, session, clock):
    chat, patient_path, doctor_path = await _video(session, clock)
    async with open_socket(app, doctor_path, headers=chat.doctor) as doctor:
        async with open_socket(app, patient_path, headers=chat.patient) as patient:
            assert await receive(patient) == {"type": "ready"}
            await _doctor_rings(doctor, patient)
        clock.advance(RING_FOR - timedelta(seconds=5))  # the page reloads, the call still rings
        async with open_socket(app, patient_path, headers=chat.patient) as patient:
            assert await receive(patient) == {"type": "ready"}
            assert await receive(patient) == REPLAYED_OFFER
            await patient.send_json({"type": "call.answer", "sdp": "v=0\r\n"})
            answer = await receive_until(doctor, "call.answer")
            assert (answer[-1]["side"], answer[-1]["sdp"]) == ("patient", "v=0\r\n")
            await receive_until(patient, "call.answer")
            (call,) = (await session.scalars(select(ConsultationCall))).all()
            assert (call.started_at, call.ended_at) == (clock.now(), None)
            await _hang_up(doctor, patient)
    assert await session.get(ConsultationCallOffer, chat.consultation.id) is None


async def test_the_doctor_does_not_get_their_own_offer_back(app, session, clock):
    chat, patient_path, doctor_path = await _video(session, clock)
    async with open_socket(app, patient_path, headers=chat.patient) as patient:
        assert await receive(patient) == {"type": "ready"}
        async with open_socket(app, doctor_path, headers=chat.doctor) as doctor:
            await _doctor_rings(doctor, patient)
            async with open_socket(app, doctor_path, headers=chat.doctor) as second_tab:
                assert await receive(second_tab) == {"type": "ready"}
                await assert_nothing_more(second_tab)
            await _hang_up(doctor, patient)


async def test_a_call_withdrawn_while_the_patient_was_away_shows_as_ended(app, session, clock):
    chat, patient_path, doctor_path = await _video(session, clock)
    async with open_socket(app, doctor_path, headers=chat.doctor) as doctor:
        async with open_socket(app, patient_path, headers=chat.patient) as patient:
            assert await receive(patient) == {"type": "ready"}
            await _doctor_rings(doctor, patient)
        await _hang_up(doctor)
    async with open_socket(app, patient_path, headers=chat.patient) as patient:
        assert await receive(patient) == {"type": "ready"}
        assert await receive(patient) == REPLAYED_END
        await patient.send_json({"type": "call.answer", "sdp": "v=0\r\n"})
        error = await receive(patient)
        assert error["code"] == "consultation.no_call_offered"
    assert await session.get(ConsultationCallOffer, chat.consultation.id) is None


async def test_an_offer_that_stopped_ringing_shows_as_ended_then_is_forgotten(app, session, clock):
    chat, patient_path, doctor_path = await _video(session, clock)
    async with open_socket(app, doctor_path, headers=chat.doctor) as doctor:
        await _doctor_rings(doctor)
        clock.advance(RING_FOR + timedelta(seconds=1))  # nobody answered in time
        async with open_socket(app, patient_path, headers=chat.patient) as patient:
            assert await receive(patient) == {"type": "ready"}
            assert await receive(patient) == REPLAYED_END
        clock.advance(RING_FOR)  # long over: a new page starts idle
        async with open_socket(app, patient_path, headers=chat.patient) as patient:
            assert await receive(patient) == {"type": "ready"}
            await assert_nothing_more(patient)
        await _hang_up(doctor)


async def test_a_text_consultation_socket_gets_no_call_frames(app, session, clock):
    chat = await make_chat(session, clock=clock)
    patient_path, _ = _paths(chat)
    async with open_socket(app, patient_path, headers=chat.patient) as patient:
        assert await receive(patient) == {"type": "ready"}
        await assert_nothing_more(patient)
