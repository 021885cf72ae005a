"""The registration fee: a booking with a fee is held unpaid for its billing order; paying
confirms it, an expired hold cancels it and frees the place, cancelling a paid appointment (by
the patient or by 停诊) refunds the fee through billing."""

from datetime import date, timedelta

from sqlalchemy import select

from ihospital.billing.models import Order, OrderLine, Refund
from ihospital.booking.appointments import book_slot
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.models import Appointment, Slot
from ihospital.booking.schedules import stop_session
from tests.billing.builders import pay_bill, refund_bill, reloaded, run_outbox, sandbox
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.directory.builders import bearer
from tests.identity.builders import make_patient

DAY = date(2026, 11, 30)


async def _booked(session, clock, *, capacity=6):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(
        session, clinic, clock=clock, day=DAY, fee_fen=5000, capacity=capacity
    )
    patient = await make_patient(session, clock=clock)
    booked = await book_slot(
        session,
        booker(clock, patient),
        slot_id=view.slots[0].id,
        patient_id=patient.id,
        idempotency_key=new_key(),
    )
    return clinic, view, patient, booked.appointment


async def test_a_fee_creates_an_order_and_holds_the_place_unpaid(session, clock):
    _, view, patient, appointment = await _booked(session, clock)
    order = await session.get(Order, appointment.order_id)
    [line] = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    assert (line.kind, line.subject_type, line.subject_id) == (
        "registration",
        "appointment",
        str(appointment.id),
    )
    assert (order.total_fen, order.patient_id, order.status) == (5000, patient.id, "pending")
    assert appointment.status == "pending_payment"
    assert appointment.hold_expires_at == order.expires_at == clock.now() + timedelta(minutes=15)
    assert (await reloaded(session, Slot, view.slots[0].id)).booked == 1


async def test_paying_the_order_confirms_the_appointment(session, session_factory, clock):
    _, _, _, appointment = await _booked(session, clock)
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, appointment.order_id))
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    paid = await reloaded(session, Appointment, appointment.id)
    assert (paid.status, paid.hold_expires_at) == ("confirmed", None)


async def test_an_unpaid_hold_expires_and_frees_the_place(session, session_factory, clock):
    _, view, _, appointment = await _booked(session, clock)
    await session.commit()
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=14))
    assert (await reloaded(session, Appointment, appointment.id)).status == "pending_payment"
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=2))
    expired = await reloaded(session, Appointment, appointment.id)
    assert (expired.status, expired.cancel_reason) == ("cancelled", "unpaid")
    assert (await reloaded(session, Slot, view.slots[0].id)).booked == 0
    # The event again changes nothing (idempotent subscriber).
    assert (await reloaded(session, Order, appointment.order_id)).status == "expired"


async def test_cancelling_a_paid_appointment_refunds_the_fee(session, session_factory, clock):
    _, _, patient, appointment = await _booked(session, clock)
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, appointment.order_id))
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    await cancel_appointment(session, booker(clock, patient), appointment_id=appointment.id)
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    [refund] = (
        await session.scalars(select(Refund).where(Refund.order_id == appointment.order_id))
    ).all()
    assert (refund.amount_fen, refund.note) == (5000, "预约已取消")
    assert (await reloaded(session, Order, appointment.order_id)).status == "refunded"


async def test_a_cancelled_appointment_partly_refunded_by_hand_gets_the_rest_back(
    session, session_factory, clock
):
    clinic, _, patient, appointment = await _booked(session, clock)
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, appointment.order_id))
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    await refund_bill(
        session, clinic.admin_actor(clock), order_id=appointment.order_id, amount_fen=2000
    )
    await cancel_appointment(session, booker(clock, patient), appointment_id=appointment.id)
    await session.commit()
    result = await run_outbox(session_factory, clock, {"sandbox": provider})
    refunds = (
        await session.scalars(
            select(Refund.amount_fen)
            .where(Refund.order_id == appointment.order_id)
            .order_by(Refund.id)
        )
    ).all()
    assert refunds == [2000, 3000]
    assert (result.failed, result.dead) == (0, 0)
    assert (await reloaded(session, Order, appointment.order_id)).status == "refunded"


async def test_stopping_a_session_refunds_its_paid_appointments(session, session_factory, clock):
    clinic, view, _, appointment = await _booked(session, clock)
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, appointment.order_id))
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    await stop_session(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        session_id=view.session.id,
    )
    await session.commit()
    await run_outbox(session_factory, clock, {"sandbox": provider})
    assert (await reloaded(session, Order, appointment.order_id)).status == "refunded"


async def test_the_booking_answer_names_the_order_to_pay(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY, fee_fen=5000)
    patient = await make_patient(session, clock=clock)
    account = await session.get(type(clinic.admin), patient.account_id)
    headers = await bearer(session, clock=clock, account=account)
    body = {"slot_id": view.slots[0].id, "patient_id": patient.id, "idempotency_key": "k"}
    booked = await client.post("/api/appointments", json=body, headers=headers)
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "pending_payment"
    order = await client.get(f"/api/billing/orders/{booked.json()['order_id']}", headers=headers)
    assert order.status_code == 200, order.text
