"""Delivering pharmacy orders through the API and the pages (no JavaScript): the pharmacist
ships with the carrier, a carrier timeout is a clear 503 that changes nothing, the patient and
the pharmacist see the tracking in China time, the pharmacist decides on a cold-chain excursion;
nobody marks an order delivered by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ihospital.core.clock import to_local
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.pharmacy.shipment_models import Shipment, TrackingEventRecord
from tests.billing.builders import reloaded
from tests.directory.builders import make_institution
from tests.identity.builders import auth_headers, csrf_token, make_account
from tests.pharmacy.builders import sandbox_of
from tests.pharmacy.delivery_builders import (
    Outside,
    dispensed_delivery,
    run_worker,
    shipped_delivery,
)
from tests.web.builders import sign_in_as

EN = {"Accept-Language": "en"}


@pytest.fixture
def outside(app, outside) -> Outside:  # noqa: ANN001
    """The conftest's, with the app booking its carriers."""
    app.state.carriers = outside.carriers
    return outside


async def _headers(session, clock, account_id: int) -> dict[str, str]:
    return await auth_headers(session, account=await session.get(Account, account_id), clock=clock)


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    return body


async def _shipments(session) -> int:
    return await session.scalar(select(func.count()).select_from(Shipment))


async def test_the_pharmacist_ships_through_the_api_and_a_timeout_is_a_clear_503(
    client, session, session_factory, clock, outside
):
    shop, order = await dispensed_delivery(session, session_factory, clock, outside)
    staff = await _headers(session, clock, shop.pharmacist.id)
    url = f"/api/pharmacy/orders/{order.id}/ship"
    for headers, words in ((staff, "未及时响应"), ({**staff, **EN}, "did not answer in time")):
        sandbox_of(outside.carriers, cold_chain=False).fail_next("create", "timeout")
        body = _problem(await client.post(url, headers=headers), 503, "pharmacy.carrier_timeout")
        assert words in body["detail"]
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "dispensed"
    assert await _shipments(session) == 0
    shipped = await client.post(url, headers=staff)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped" and shipped.json()["shipment_id"] is not None
    _problem(await client.post(url, headers=staff), 409, "pharmacy.order_state")
    _problem(
        await client.post(f"/api/pharmacy/orders/{order.id}/refund", headers=staff),
        409,
        "pharmacy.order_state",
    )


async def test_bad_input_and_other_institutions_get_clear_errors(
    client, session, session_factory, clock, outside
):
    shop, order = await dispensed_delivery(session, session_factory, clock, outside)
    elsewhere = await make_institution(session, clock=clock)
    stranger = await make_account(
        session, role="pharmacist", institution_id=elsewhere.id, clock=clock
    )
    other = await _headers(session, clock, stranger.id)
    staff = await _headers(session, clock, shop.pharmacist.id)
    for action in ("ship", "refund"):
        _problem(
            await client.post(f"/api/pharmacy/orders/{order.id}/{action}", headers=other),
            404,
            "pharmacy.order_not_found",
        )
        bad = await client.post(f"/api/pharmacy/orders/0/{action}", headers={**staff, **EN})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM_JSON)
    gone = await client.post(f"/api/pharmacy/orders/{order.id}/deliver", headers=staff)
    assert gone.status_code in (404, 405)
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "dispensed"
    assert await _shipments(session) == 0


async def test_the_patient_sees_the_tracking_in_china_time(
    client, session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(session, session_factory, clock, outside)
    await run_worker(session_factory, clock, outside)
    await sign_in_as(
        session, client, account=await session.get(Account, shop.patient.account_id), clock=clock
    )
    page = await client.get(f"/pharmacy-orders/{order.id}")
    assert page.status_code == 200
    events = (await session.scalars(select(TrackingEventRecord))).all()
    assert len(events) == 4
    for event in events:
        assert to_local(event.occurred_at).strftime("%Y-%m-%d %H:%M") in page.text
    assert 'data-shipment-status="delivered"' in page.text and "派送中" in page.text


async def test_the_pharmacist_decides_on_an_excursion_from_the_order_page(
    client, session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(
        session,
        session_factory,
        clock,
        outside,
        cold_chain=True,
        excursion_celsius=Decimal("12.0"),
    )
    await run_worker(session_factory, clock, outside)
    await sign_in_as(
        session, client, account=await session.get(Account, shop.pharmacist.id), clock=clock
    )
    url = f"/pharmacy/orders/{order.id}"
    page = await client.get(url)
    assert page.status_code == 200
    assert f'action="{url}/excursion-decision"' in page.text and "12.0 °C" in page.text
    token = await csrf_token(client)
    missing = await client.post(f"{url}/excursion-decision", data={"csrf_token": token})
    assert missing.status_code == 422
    shipment_id = (await reloaded(session, PharmacyOrder, order.id)).shipment_id
    assert (await reloaded(session, Shipment, shipment_id)).excursion == "pending"
    decided = await client.post(
        f"{url}/excursion-decision",
        data={"csrf_token": token, "decision": "accept", "note": "记录仪探头脱落，药品完好"},
    )
    assert decided.status_code == 303 and decided.headers["location"] == url
    assert (await reloaded(session, Shipment, shipment_id)).excursion == "accepted"
    await run_worker(session_factory, clock, outside)
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "delivered"
