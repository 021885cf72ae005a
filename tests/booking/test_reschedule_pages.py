"""改约 through the pages: from "my appointments" to the doctor's calendar of times the
appointment may move to, the confirm step, and the move; refusals show on the confirm step."""

import re
from datetime import date

from sqlalchemy import select

from ihospital.booking.appointments import book_slot
from ihospital.booking.models import Appointment
from ihospital.identity.models import Account
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

DAY = date(2026, 11, 30)


async def _signed_in_booking(session, client, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY, fee_fen=5000)
    dearer = await make_session(session, clinic, clock=clock, day=date(2026, 11, 29), fee_fen=9000)
    patient = await make_patient(session, clock=clock, name="李四")
    booked = await book_slot(
        session,
        booker(clock, patient),
        slot_id=view.slots[0].id,
        patient_id=patient.id,
        idempotency_key=new_key(),
    )
    account = await session.get(Account, patient.account_id)
    await sign_in_as(session, client, account=account, clock=clock)
    return view, dearer, booked.appointment


async def test_a_patient_moves_an_appointment_through_the_pages(client, session, clock):
    view, dearer, appointment = await _signed_in_booking(session, client, clock)
    mine = await client.get("/appointments")
    path = f"/appointments/{appointment.id}/reschedule"
    assert f'href="{path}"' in mine.text and "改约" in mine.text

    calendar = await client.get(path)
    assert calendar.status_code == 200 and "2026-11-30 09:00–09:10" in calendar.text
    assert f'href="{path}?slot_id={view.slots[3].id}"' in calendar.text
    assert f"slot_id={dearer.slots[0].id}" not in calendar.text  # another fee
    assert f'href="{path}?slot_id={view.slots[0].id}"' not in calendar.text  # full: its own

    confirm = await client.get(f"{path}?slot_id={view.slots[3].id}")
    assert confirm.status_code == 200
    assert "2026-11-30 09:30–09:40" in confirm.text and "李四" in confirm.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', confirm.text).group(1)
    form = {"slot_id": str(view.slots[3].id), "idempotency_key": key}
    form["csrf_token"] = await csrf_token(client)
    moved = await client.post(path, data=form)
    assert moved.status_code == 303 and moved.headers["location"] == "/appointments"
    again = await client.post(path, data=form)  # a double submit is the same move
    assert again.status_code == 303
    row = await session.scalar(select(Appointment).where(Appointment.id == appointment.id))
    await session.refresh(row)
    assert (row.slot_id, row.status) == (view.slots[3].id, "pending_payment")
    assert "2026-11-30 09:30–09:40" in (await client.get("/appointments")).text


async def test_a_refusal_shows_on_the_confirm_step(client, session, clock):
    view, dearer, appointment = await _signed_in_booking(session, client, clock)
    path = f"/appointments/{appointment.id}/reschedule"
    form = {
        "slot_id": str(dearer.slots[0].id),
        "idempotency_key": "k",
        "csrf_token": await csrf_token(client),
    }
    refused = await client.post(path, data=form)
    assert refused.status_code == 422
    assert "挂号费不同" in refused.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', refused.text).group(1)
    assert key != "k"  # trying again is a new move
    missing = await client.post(path, data={**form, "idempotency_key": ""})
    assert missing.status_code == 422


async def test_another_accounts_appointment_is_not_found(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    owner = await make_patient(session, clock=clock)
    booked = await book_slot(
        session,
        booker(clock, owner),
        slot_id=view.slots[0].id,
        patient_id=owner.id,
        idempotency_key=new_key(),
    )
    stranger = await make_patient(session, clock=clock)
    await sign_in_as(
        session, client, account=await session.get(Account, stranger.account_id), clock=clock
    )
    path = f"/appointments/{booked.appointment.id}/reschedule"
    assert (await client.get(path)).status_code == 404
    assert (await client.get(f"{path}?slot_id={view.slots[1].id}")).status_code == 404
    form = {
        "slot_id": str(view.slots[1].id),
        "idempotency_key": "k",
        "csrf_token": await csrf_token(client),
    }
    assert (await client.post(path, data=form)).status_code == 404
