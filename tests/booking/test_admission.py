"""Admission to booking in a flash crowd: the gate lets bookings in a few at a time, in arrival
order; a slot just seen full is refused from memory, never for long, and a place freed in this
process is bookable at once after a "full" answer."""

import asyncio

from sqlalchemy import update

from ihospital.booking.admission import FULL_FOR_SECONDS, Admission, FullSlots
from ihospital.booking.models import Slot
from ihospital.identity.models import Account
from tests.booking.builders import make_clinic, make_session
from tests.booking.test_schedules import DAY
from tests.directory.builders import bearer
from tests.directory.test_search import counted_queries
from tests.identity.builders import make_patient

HARNESS = 2  # the savepoint each request of the tests opens in the test's transaction, and its end


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_a_mark_lapses_and_a_freed_slot_is_forgotten() -> None:
    ticker = Ticker()
    full = FullSlots(now=ticker)
    full.mark(7, freed_before=full.freed)
    assert full.is_full(7) and not full.is_full(8)
    ticker.value += FULL_FOR_SECONDS
    assert not full.is_full(7)

    full.mark(7, freed_before=full.freed)
    full.forget(7)
    assert not full.is_full(7)


def test_a_read_made_before_a_place_was_freed_does_not_mark_the_slot() -> None:
    full = FullSlots(now=Ticker())
    seen = full.freed  # a request reads the slot full...
    full.forget(7)  # ...while a cancellation frees a place of it
    full.mark(7, freed_before=seen)
    assert not full.is_full(7)


async def _booker(session, clock, patient) -> dict[str, str]:
    account = await session.get(Account, patient.account_id)
    return await bearer(session, clock=clock, account=account)


async def _book(client, headers, slot_id: int, patient, key: str):
    body = {"slot_id": slot_id, "patient_id": patient.id, "idempotency_key": key}
    return await client.post("/api/appointments", json=body, headers=headers)


async def test_a_full_slot_is_refused_from_memory_and_bookable_at_once_when_freed(
    app, client, session, clock, engine
) -> None:
    clinic = await make_clinic(session, clock=clock)
    slot = (await make_session(session, clinic, clock=clock, day=DAY)).slots[0]
    first, second, third = [await make_patient(session, clock=clock) for _ in range(3)]
    headers = {p.id: await _booker(session, clock, p) for p in (first, second, third)}
    full = app.state.booking_admission.full

    booked = await _book(client, headers[first.id], slot.id, first, "a")
    assert booked.status_code == 201, booked.text
    refused = await _book(client, headers[second.id], slot.id, second, "b")
    assert refused.status_code == 409 and refused.json()["code"] == "booking.slot_full"
    assert full.is_full(slot.id)

    with counted_queries(engine) as statements:
        again = await _book(client, headers[third.id], slot.id, third, "c")
    assert again.status_code == 409 and again.json()["code"] == "booking.slot_full"
    assert len(statements) == 2 + HARNESS  # the token and the idempotency key, not the slot
    assert not any("FROM booking_slot" in s for s in statements)

    # the holder replays their request: the same appointment, even while the slot is marked
    replay = await _book(client, headers[first.id], slot.id, first, "a")
    assert replay.status_code == 201 and replay.json()["id"] == booked.json()["id"]

    cancelled = await client.post(
        f"/api/appointments/{booked.json()['id']}/cancel", headers=headers[first.id]
    )
    assert cancelled.status_code == 200, cancelled.text
    assert not full.is_full(slot.id)
    taken = await _book(client, headers[second.id], slot.id, second, "b2")
    assert taken.status_code == 201, taken.text


async def test_a_place_freed_elsewhere_is_bookable_once_the_mark_lapses(
    app, client, session, clock
) -> None:
    ticker = Ticker()
    app.state.booking_admission.full = FullSlots(now=ticker)
    clinic = await make_clinic(session, clock=clock)
    slot = (await make_session(session, clinic, clock=clock, day=DAY)).slots[0]
    first, second = [await make_patient(session, clock=clock) for _ in range(2)]
    first_headers = await _booker(session, clock, first)
    assert (await _book(client, first_headers, slot.id, first, "a")).is_success
    headers = await _booker(session, clock, second)
    assert (await _book(client, headers, slot.id, second, "b")).status_code == 409

    # another process frees the place (its mark here is not told)
    await session.execute(update(Slot).where(Slot.id == slot.id).values(booked=0))
    assert (await _book(client, headers, slot.id, second, "c")).status_code == 409
    ticker.value += FULL_FOR_SECONDS
    taken = await _book(client, headers, slot.id, second, "d")
    assert taken.status_code == 201, taken.text


async def test_a_stopped_session_is_refused_as_stopped_not_full(app, client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    slot = view.slots[0]
    first, second = [await make_patient(session, clock=clock) for _ in range(2)]
    first_headers = await _booker(session, clock, first)
    assert (await _book(client, first_headers, slot.id, first, "a")).is_success
    headers = await _booker(session, clock, second)
    assert (await _book(client, headers, slot.id, second, "b")).status_code == 409
    admin = await bearer(session, clock=clock, account=clinic.admin)
    stopped = await client.post(
        f"/api/institutions/{clinic.institution.id}/sessions/{view.session.id}/stop", headers=admin
    )
    assert stopped.status_code == 200, stopped.text

    refused = await _book(client, headers, slot.id, second, "c")
    assert refused.json()["code"] == "booking.session_stopped"


async def test_bookings_wait_at_the_gate_in_arrival_order(app, client, session, clock) -> None:
    app.state.booking_admission = Admission(1)
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patients = [await make_patient(session, clock=clock) for _ in range(3)]
    headers = [await _booker(session, clock, p) for p in patients]
    gate = app.state.booking_admission.gate
    finished: list[int] = []

    async def book(n: int) -> int:
        response = await _book(client, headers[n], view.slots[n].id, patients[n], f"k{n}")
        finished.append(n)
        return response.status_code

    await gate.acquire()  # a booking in progress holds the only place
    tasks = []
    for n in range(3):
        tasks.append(asyncio.create_task(book(n)))
        await asyncio.sleep(0.05)  # arrive one after the other
    await asyncio.sleep(1)  # long enough for any of them to finish, were it let in
    assert finished == []  # all wait at the gate
    gate.release()
    assert await asyncio.gather(*tasks) == [201, 201, 201]
    assert finished == [0, 1, 2]
