"""Tracking callbacks of the sandbox carriers: duplicated, late and out-of-order scans, refused
callbacks retried, the pull, and cold-chain excursions awaiting the pharmacist."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.shipment_events import (
    COLD_CHAIN_EXCURSION,
    PUBLICATIONS,
    SHIPMENT_STATUS_CHANGED,
    subscribe,
)
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.pharmacy.shipment_tracking import decide_excursion
from ihospital.pharmacy.shipments import get_shipment, refresh_tracking
from tests.directory.builders import make_institution
from tests.pharmacy.builders import pharmacist, run_outbox, sandbox_of, ship


async def _tracked(session, clock, shipment_id):  # noqa: ANN001, ANN202
    """The shipment as the worker left it."""
    await session.get(Shipment, shipment_id, populate_existing=True)
    return await get_shipment(session, Actor.system(clock), shipment_id=shipment_id)


async def _published(session, topic: str, shipment_id: int) -> list[dict]:
    rows = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
    )
    payloads = [json.loads(row.payload) for row in rows.all()]
    return [payload for payload in payloads if payload["shipment_id"] == shipment_id]


async def _statuses(session, shipment_id: int) -> list[str]:
    changes = await _published(session, "pharmacy.shipment_status_changed", shipment_id)
    return [change["status"] for change in changes]


async def test_a_prompt_carrier_moves_the_shipment_through_each_status_once(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(session, carriers, clock=clock, institution_id=institution.id)
    result = await run_outbox(session_factory, clock, carriers)
    view = await _tracked(session, clock, shipment.id)
    assert view.shipment.status == "delivered"
    assert [event.status for event in view.events] == [
        "accepted",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert all(event.applied for event in view.events)
    assert await _statuses(session, shipment.id) == [
        "created",
        "accepted",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert result.dead == 0 and result.failed == 0


async def test_each_callback_delivered_twice_is_stored_and_applied_once(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(
        session, carriers, clock=clock, institution_id=institution.id, script="twice"
    )
    result = await run_outbox(session_factory, clock, carriers)
    view = await _tracked(session, clock, shipment.id)
    assert result.done >= 8 and result.failed == 0
    assert len(view.events) == 4
    assert await _statuses(session, shipment.id) == [
        "created",
        "accepted",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]


async def test_a_late_scan_is_stored_but_never_moves_the_shipment_back(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(
        session, carriers, clock=clock, institution_id=institution.id, script="late"
    )
    await run_outbox(session_factory, clock, carriers)
    view = await _tracked(session, clock, shipment.id)
    assert view.shipment.status == "delivered"
    late = [event for event in view.events if event.status == "in_transit"]
    assert len(late) == 1 and not late[0].applied
    assert late[0].occurred_at < view.events[-1].occurred_at
    assert "in_transit" not in await _statuses(session, shipment.id)


async def test_scans_out_of_order_leave_the_shipment_at_the_furthest(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(
        session, carriers, clock=clock, institution_id=institution.id, script="out_of_order"
    )
    await run_outbox(session_factory, clock, carriers)
    view = await _tracked(session, clock, shipment.id)
    assert view.shipment.status == "delivered"
    assert [(event.status, event.applied) for event in view.events] == [
        ("accepted", False),
        ("in_transit", False),
        ("out_for_delivery", False),
        ("delivered", True),
    ]
    assert await _statuses(session, shipment.id) == ["created", "delivered"]


async def test_a_failed_delivery_stays_failed(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(
        session, carriers, clock=clock, institution_id=institution.id, script="failed"
    )
    await run_outbox(session_factory, clock, carriers)
    view = await _tracked(session, clock, shipment.id)
    assert view.shipment.status == "failed"
    assert [event.status for event in view.events] == ["accepted", "in_transit", "failed"]


async def test_a_refused_callback_is_sent_again_by_the_carrier(
    session, session_factory, clock, carriers, institution
):
    shipment = await ship(session, carriers, clock=clock, institution_id=institution.id)
    sandbox_of(carriers, cold_chain=False).fail_next("callback", "bad_signature")
    first = await run_outbox(session_factory, clock, carriers, advance=timedelta(minutes=15))
    assert first.failed == 1
    assert (await _tracked(session, clock, shipment.id)).events == []
    await run_outbox(session_factory, clock, carriers)
    view = await _tracked(session, clock, shipment.id)
    assert view.shipment.status == "delivered" and len(view.events) == 4


async def test_pulling_the_tracking_finds_what_no_callback_brought(
    session, clock, carriers, institution
):
    shipment = await ship(
        session, carriers, clock=clock, institution_id=institution.id, script="never"
    )
    clock.advance(timedelta(hours=1, minutes=30))
    system = Actor.system(clock)
    assert await refresh_tracking(session, system, shipment_id=shipment.id, carriers=carriers) == (
        "applied"
    )
    assert (await _tracked(session, clock, shipment.id)).shipment.status == "in_transit"
    clock.advance(timedelta(hours=2))
    await refresh_tracking(session, system, shipment_id=shipment.id, carriers=carriers)
    assert (
        await refresh_tracking(session, system, shipment_id=shipment.id, carriers=carriers)
        == "duplicate"
    )
    assert await _statuses(session, shipment.id) == [
        "created",
        "accepted",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]


async def test_a_cold_chain_excursion_blocks_delivered_until_a_pharmacist_accepts(
    session, session_factory, clock, carriers, institution, pharmacist_account
):
    shipment = await ship(
        session,
        carriers,
        clock=clock,
        institution_id=institution.id,
        cold_chain=True,
        excursion_celsius=Decimal("11.5"),
    )
    await run_outbox(session_factory, clock, carriers)
    view = await _tracked(session, clock, shipment.id)
    assert (view.shipment.status, view.shipment.carrier_status) == (
        "temperature_excursion",
        "delivered",
    )
    outside = [reading for reading in view.readings if not reading.within_range]
    assert [reading.celsius for reading in outside] == [Decimal("11.5")]
    assert len(view.readings) == 10
    [alert] = await _published(session, "pharmacy.cold_chain_excursion", shipment.id)
    assert alert["celsius"] == "11.5"
    assert "delivered" not in await _statuses(session, shipment.id)

    decided = await decide_excursion(
        session,
        pharmacist(clock, pharmacist_account.id, institution.id),
        shipment_id=shipment.id,
        accept=True,
        note="温度偏离时间短, 药品稳定性数据支持使用",
    )
    assert (decided.status, decided.excursion) == ("delivered", "accepted")
    assert (await _statuses(session, shipment.id))[-1] == "delivered"


async def test_a_rejected_excursion_returns_the_parcel(
    session, session_factory, clock, carriers, institution, pharmacist_account
):
    shipment = await ship(
        session,
        carriers,
        clock=clock,
        institution_id=institution.id,
        cold_chain=True,
        excursion_celsius=Decimal("-1.0"),
    )
    await run_outbox(session_factory, clock, carriers, advance=timedelta(hours=1, minutes=40))
    blocked = await session.get(Shipment, shipment.id, populate_existing=True)
    assert blocked.status == "temperature_excursion"
    await decide_excursion(
        session,
        pharmacist(clock, pharmacist_account.id, institution.id),
        shipment_id=shipment.id,
        accept=False,
        note="冷链中断, 药品不可使用",
    )
    await run_outbox(session_factory, clock, carriers)  # the rest of the scans still arrive
    view = await _tracked(session, clock, shipment.id)
    assert view.shipment.status == "returned"
    assert view.shipment.excursion_note == "冷链中断, 药品不可使用"
    assert not [event for event in view.events if event.status == "delivered" and event.applied]


async def test_only_a_pharmacist_of_the_institution_decides_and_only_when_pending(
    session, session_factory, clock, carriers, institution, pharmacist_account
):
    shipment = await ship(
        session, carriers, clock=clock, institution_id=institution.id, cold_chain=True
    )
    await run_outbox(session_factory, clock, carriers)
    own = pharmacist(clock, pharmacist_account.id, institution.id)
    with pytest.raises(Conflict) as nothing_pending:
        await decide_excursion(session, own, shipment_id=shipment.id, accept=True, note="ok")
    assert nothing_pending.value.code == "pharmacy.no_excursion_pending"
    other = await make_institution(session, clock=clock)
    for outsider in (
        pharmacist(clock, pharmacist_account.id, other.id),
        Actor.system(clock),
        Actor(role="institution_admin", clock=clock, account_id=1, institution_id=institution.id),
    ):
        with pytest.raises(NotFound):
            await decide_excursion(
                session, outsider, shipment_id=shipment.id, accept=True, note="ok"
            )


async def test_subscribers_hear_each_status_change_and_excursion(
    session, session_factory, clock, carriers, institution
):
    heard: list[tuple[str, str]] = []

    async def order_service(session, actor, event_id, payload):  # noqa: ANN001, ANN202
        heard.append((payload["order_reference"], payload["status"]))

    with pytest.raises(ValueError):
        subscribe("pharmacy.shipment_lost")
    for topic in (SHIPMENT_STATUS_CHANGED, COLD_CHAIN_EXCURSION):
        subscribe(topic)(order_service)
    try:
        shipment = await ship(
            session,
            carriers,
            clock=clock,
            institution_id=institution.id,
            cold_chain=True,
            excursion_celsius=Decimal("9.0"),
        )
        await run_outbox(session_factory, clock, carriers)
    finally:
        for topic in (SHIPMENT_STATUS_CHANGED, COLD_CHAIN_EXCURSION):
            PUBLICATIONS.subscribers[topic].remove(order_service)
    # the excursion, and the status change it made; out for delivery and delivered wait
    reference = shipment.order_reference
    assert sorted(heard) == sorted(
        (reference, status)
        for status in (
            "created",
            "accepted",
            "in_transit",
            "temperature_excursion",
            "temperature_excursion",
        )
    )
