"""What a booking costs the database, over HTTP: a fixed number of statements for a booking, and
a full slot refused after the token and the slot alone (in a flash crowd most requests are
refused, and they must stay cheap). One audit entry per booking names the 就诊人."""

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.identity.models import Account
from tests.booking.builders import make_clinic, make_session
from tests.booking.test_schedules import DAY
from tests.directory.builders import bearer
from tests.directory.test_search import counted_queries
from tests.identity.builders import make_patient

BOOKING_STATEMENTS = 9  # token, slot, 就诊人, counts, place, appointment, timers, audit, device
HARNESS = 2  # the savepoint each request of the tests opens in the test's transaction, and its end


async def _last_entry(session) -> int:
    return await session.scalar(select(func.max(AuditEntry.id))) or 0


async def _entries(session, patient_id: int, *, after: int) -> list[str]:
    return list(
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.patient_id == patient_id, AuditEntry.id > after)
            .order_by(AuditEntry.id)
        )
    )


async def test_a_booking_costs_a_fixed_number_of_statements_and_a_full_slot_two(
    client, session, clock, engine
) -> None:
    clinic = await make_clinic(session, clock=clock)
    slot = (await make_session(session, clinic, clock=clock, day=DAY)).slots[0]
    first = await make_patient(session, clock=clock)
    second = await make_patient(session, clock=clock)
    before = await _last_entry(session)

    async def book(patient, key: str):
        headers = await bearer(
            session, clock=clock, account=await session.get(Account, patient.account_id)
        )
        body = {"slot_id": slot.id, "patient_id": patient.id, "idempotency_key": key}
        with counted_queries(engine) as statements:
            response = await client.post("/api/appointments", json=body, headers=headers)
        return response, len(statements)

    booked, cost = await book(first, "a")
    assert booked.status_code == 201, booked.text
    assert cost == BOOKING_STATEMENTS + HARNESS
    assert await _entries(session, first.id, after=before) == ["booking.appointment.book"]

    full, cost = await book(second, "b")
    assert full.status_code == 409 and full.json()["code"] == "booking.slot_full"
    assert cost == 2 + HARNESS  # the token and the slot
    assert await _entries(session, second.id, after=before) == []


async def test_a_replayed_booking_records_the_read_of_the_patient(client, session, clock) -> None:
    clinic = await make_clinic(session, clock=clock)
    slot = (await make_session(session, clinic, clock=clock, day=DAY)).slots[0]
    patient = await make_patient(session, clock=clock)
    headers = await bearer(
        session, clock=clock, account=await session.get(Account, patient.account_id)
    )
    body = {"slot_id": slot.id, "patient_id": patient.id, "idempotency_key": "a"}
    before = await _last_entry(session)
    booked = await client.post("/api/appointments", json=body, headers=headers)
    again = await client.post("/api/appointments", json=body, headers=headers)

    assert again.status_code == 201 and again.json()["id"] == booked.json()["id"]
    replayed = await _entries(session, patient.id, after=before)
    assert replayed == ["booking.appointment.book", "patient.read"]
