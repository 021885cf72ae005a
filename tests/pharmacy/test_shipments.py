"""Booking, cancelling and reading shipments with the sandbox carriers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, ServiceUnavailable
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.pharmacy.shipments import cancel_shipment, create_shipment, get_shipment
from tests.directory.builders import make_institution
from tests.pharmacy.builders import (
    PARCELS,
    RECIPIENT,
    SENDER,
    callbacks_of,
    new_reference,
    pharmacist,
    run_outbox,
    sandbox_of,
    ship,
)


async def _count(session, model) -> int:  # noqa: ANN001
    return await session.scalar(select(func.count()).select_from(model))


async def test_a_cold_chain_parcel_goes_with_the_cold_chain_carrier(
    session, clock, carriers, institution
):
    cold = await ship(
        session, carriers, clock=clock, institution_id=institution.id, cold_chain=True
    )
    plain = await ship(session, carriers, clock=clock, institution_id=institution.id)
    assert (cold.carrier, cold.cold_chain, cold.status) == ("sandbox-cold", True, "created")
    assert (plain.carrier, plain.cold_chain) == ("sandbox", False)
    assert cold.carrier_shipment_id != plain.carrier_shipment_id


async def test_booking_is_audited_published_and_schedules_the_carriers_callbacks(
    session, clock, carriers, institution
):
    shipment = await ship(session, carriers, clock=clock, institution_id=institution.id)
    audit = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.subject_type == "shipment", AuditEntry.subject_id == str(shipment.id)
        )
    )
    assert audit is not None and audit.action == "pharmacy.shipment_status_changed"
    published = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.topic == "pharmacy.shipment_status_changed")
    )
    assert published is not None and f'"shipment_id": {shipment.id}' in published.payload
    assert (
        len(await callbacks_of(session)) == 4
    )  # accepted, in transit, out for delivery, delivered


async def test_booking_again_for_the_same_order_returns_the_same_shipment(
    session, clock, carriers, institution
):
    reference = new_reference()
    first = await ship(
        session, carriers, clock=clock, institution_id=institution.id, order_reference=reference
    )
    again = await ship(
        session, carriers, clock=clock, institution_id=institution.id, order_reference=reference
    )
    assert again.id == first.id
    assert len(await callbacks_of(session)) == 4
    other = await make_institution(session, clock=clock)
    with pytest.raises(Conflict) as refused:
        await ship(
            session, carriers, clock=clock, institution_id=other.id, order_reference=reference
        )
    assert refused.value.code == "pharmacy.order_reference_taken"


async def test_a_booking_that_times_out_writes_nothing_and_the_retry_books_once(
    session, clock, carriers, institution
):
    sandbox = sandbox_of(carriers, cold_chain=False)
    reference = new_reference()
    arguments = {
        "institution_id": institution.id,
        "order_reference": reference,
        "sender": SENDER,
        "recipient": RECIPIENT,
        "cold_chain": False,
        "parcels": PARCELS,
        "carriers": carriers,
    }
    for failure in ("timeout", "timeout_after_booking"):
        sandbox.fail_next("create", failure)
        with pytest.raises(ServiceUnavailable) as unavailable:
            async with session.begin_nested():
                await create_shipment(session, Actor.system(clock), **arguments)
        assert unavailable.value.code == "pharmacy.carrier_timeout"
        assert await _count(session, Shipment) == 0
        assert await _count(session, OutboxEvent) == 0
    shipment = await create_shipment(session, Actor.system(clock), **arguments)
    booked = await sandbox.create_shipment(
        order_reference=reference,
        sender=SENDER,
        recipient=RECIPIENT,
        cold_chain=False,
        parcels=PARCELS,
    )
    assert booked.carrier_shipment_id == shipment.carrier_shipment_id  # booked once only


async def test_a_declined_booking_is_a_conflict(session, clock, carriers, institution):
    sandbox_of(carriers, cold_chain=False).fail_next("create", "declined")
    with pytest.raises(Conflict) as declined:
        await ship(session, carriers, clock=clock, institution_id=institution.id)
    assert declined.value.code == "pharmacy.carrier_declined"


async def test_a_pharmacist_of_another_institution_can_neither_book_nor_read(
    session, clock, carriers, institution, pharmacist_account
):
    other = await make_institution(session, clock=clock)
    outsider = pharmacist(clock, pharmacist_account.id, other.id)
    with pytest.raises(NotFound):
        await create_shipment(
            session,
            outsider,
            institution_id=institution.id,
            order_reference=new_reference(),
            sender=SENDER,
            recipient=RECIPIENT,
            cold_chain=False,
            parcels=PARCELS,
            carriers=carriers,
        )
    shipment = await ship(session, carriers, clock=clock, institution_id=institution.id)
    with pytest.raises(NotFound):
        await get_shipment(session, outsider, shipment_id=shipment.id)
    own = pharmacist(clock, pharmacist_account.id, institution.id)
    view = await get_shipment(session, own, shipment_id=shipment.id)
    assert view.shipment.id == shipment.id and view.events == []


async def test_cancelling_before_out_for_delivery_stops_the_shipment_for_good(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(session, carriers, clock=clock, institution_id=institution.id)
    await run_outbox(session_factory, clock, carriers, advance=timedelta(minutes=15))
    await session.refresh(shipment)
    assert shipment.status == "accepted"
    await cancel_shipment(session, Actor.system(clock), shipment_id=shipment.id, carriers=carriers)
    assert shipment.status == "cancelled"
    await session.commit()
    await run_outbox(session_factory, clock, carriers)
    await session.refresh(shipment)
    view = await get_shipment(session, Actor.system(clock), shipment_id=shipment.id)
    assert view.shipment.status == "cancelled"
    # scans the carrier sends after the cancellation are kept for the record, never applied
    assert [event.applied for event in view.events] == [True, False, False, False]


async def test_a_shipment_out_for_delivery_can_no_longer_be_cancelled(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(session, carriers, clock=clock, institution_id=institution.id)
    await session.commit()
    await run_outbox(session_factory, clock, carriers, advance=timedelta(hours=2, minutes=5))
    await session.refresh(shipment)
    assert shipment.status == "out_for_delivery"
    with pytest.raises(Conflict) as refused:
        await cancel_shipment(
            session, Actor.system(clock), shipment_id=shipment.id, carriers=carriers
        )
    assert refused.value.code == "pharmacy.shipment_not_cancellable"
