"""Returned parcels and deliveries that need a decision, through the API and the pharmacists'
pages: the parcel is received, then restocked or destroyed once (a second decision is a clear
409 in zh-CN and English); pharmacists of another institution find nothing, patients are
refused; the dispatch page shows the deliveries that need a decision first and the parcels that
come back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from ihospital.pharmacy.models import PharmacyOrder, PharmacyStock
from tests.billing.builders import reloaded
from tests.identity.builders import csrf_token
from tests.pharmacy.delivery_builders import Outside, run_worker, shipped_delivery
from tests.pharmacy.order_builders import headers_of, make_shop, problem_of
from tests.web.builders import sign_in_as

EN = {"Accept-Language": "en"}


@pytest.fixture
def outside(app, outside) -> Outside:  # noqa: ANN001
    """The conftest's, with the app booking its carriers."""
    app.state.carriers = outside.carriers
    return outside


async def _failed_delivery(session, session_factory, clock, outside):
    shop, order = await shipped_delivery(session, session_factory, clock, outside, script="failed")
    await run_worker(session_factory, clock, outside)
    return shop, order


async def test_a_returned_parcel_is_received_and_restocked_once_through_the_api(
    client, session, session_factory, clock, outside
):
    shop, order = await _failed_delivery(session, session_factory, clock, outside)
    staff = await headers_of(session, clock, shop.pharmacist.id)
    refunded = await client.post(f"/api/pharmacy/orders/{order.id}/refund", headers=staff)
    assert refunded.status_code == 200, refunded.text
    [due] = (await client.get("/api/pharmacy/returns", headers=staff)).json()
    assert (due["order_id"], due["received_at"]) == (order.id, None)

    url = f"/api/pharmacy/orders/{order.id}/return"
    early = await client.post(f"{url}/decision", json={"decision": "restock"}, headers=staff)
    problem_of(early, 409, "pharmacy.return_not_received")
    received = await client.post(url, headers=staff)
    assert received.status_code == 200, received.text
    again = await client.post(url, headers=staff)
    assert again.json()["received_at"] == received.json()["received_at"]

    bad = await client.post(f"{url}/decision", json={"decision": "keep"}, headers=staff)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM_JSON)
    unexplained = await client.post(
        f"{url}/decision", json={"decision": "destroy"}, headers={**staff, **EN}
    )
    body = problem_of(unexplained, 422, "pharmacy.return_reason_invalid")
    assert body["field"] == "reason" and "why the drugs are destroyed" in body["detail"]

    stock = await session.scalar(
        select(PharmacyStock).where(PharmacyStock.pharmacy_id == shop.pharmacy.id)
    )
    on_hand = (await reloaded(session, PharmacyStock, stock.id)).on_hand
    restocked = await client.post(f"{url}/decision", json={"decision": "restock"}, headers=staff)
    assert restocked.status_code == 200, restocked.text
    assert restocked.json()["decision"] == "restock"
    assert (await reloaded(session, PharmacyStock, stock.id)).on_hand == on_hand + 2
    for headers, words in ((staff, "已重新入库"), ({**staff, **EN}, "already put back into stock")):
        twice = await client.post(f"{url}/decision", json={"decision": "restock"}, headers=headers)
        assert words in problem_of(twice, 409, "pharmacy.return_decided")["detail"]
    assert (await reloaded(session, PharmacyStock, stock.id)).on_hand == on_hand + 2
    assert (await client.get("/api/pharmacy/returns", headers=staff)).json() == []


async def test_other_institutions_find_no_return_and_patients_are_refused(
    client, session, session_factory, clock, outside
):
    shop, order = await _failed_delivery(session, session_factory, clock, outside)
    staff = await headers_of(session, clock, shop.pharmacist.id)
    await client.post(f"/api/pharmacy/orders/{order.id}/refund", headers=staff)
    other = await make_shop(session, clock=clock)
    stranger = await headers_of(session, clock, other.pharmacist.id)
    patient = await headers_of(session, clock, shop.patient.account_id)
    url = f"/api/pharmacy/orders/{order.id}/return"
    decision = {"decision": "destroy", "reason": "破损"}
    problem_of(await client.post(url, headers=stranger), 404, "pharmacy.order_not_found")
    problem_of(
        await client.post(f"{url}/decision", json=decision, headers=stranger),
        404,
        "pharmacy.order_not_found",
    )
    assert (await client.get("/api/pharmacy/returns", headers=stranger)).json() == []
    assert (await client.post(url, headers=patient)).status_code == 403
    assert (await client.post(f"{url}/decision", json=decision, headers=patient)).status_code == 403
    assert (await client.get("/api/pharmacy/returns", headers=patient)).status_code == 403
    [due] = (await client.get("/api/pharmacy/returns", headers=staff)).json()
    assert due["received_at"] is None


async def test_the_dispatch_page_asks_for_a_decision_and_the_order_page_handles_the_return(
    client, session, session_factory, clock, outside
):
    shop, order = await _failed_delivery(session, session_factory, clock, outside)
    await sign_in_as(
        session, client, account=await session.get(Account, shop.pharmacist.id), clock=clock
    )
    queue = await client.get("/pharmacy/orders", headers=EN)
    assert queue.status_code == 200
    assert f'id="pharmacy-order-{order.id}" class="needs-decision"' in queue.text
    assert "Needs a decision" in queue.text and "The delivery failed" in queue.text

    token = await csrf_token(client)
    url = f"/pharmacy/orders/{order.id}"
    refunded = await client.post(f"{url}/refund", data={"csrf_token": token})
    assert refunded.status_code == 303
    queue = await client.get("/pharmacy/orders", headers=EN)
    assert f'id="return-{order.id}"' in queue.text and "On its way back" in queue.text
    page = await client.get(url)
    assert f'action="{url}/return"' in page.text
    received = await client.post(f"{url}/return", data={"csrf_token": token})
    assert received.status_code == 303 and received.headers["location"] == url
    page = await client.get(url)
    assert f'action="{url}/return/decision"' in page.text
    missing = await client.post(
        f"{url}/return/decision", data={"csrf_token": token, "decision": "burn"}
    )
    assert missing.status_code == 422
    destroyed = await client.post(
        f"{url}/return/decision",
        data={"csrf_token": token, "decision": "destroy", "reason": "外包装破损"},
    )
    assert destroyed.status_code == 303
    page = await client.get(url)
    assert 'data-return-decision="destroy"' in page.text and "外包装破损" in page.text
    assert (await reloaded(session, PharmacyOrder, order.id)).status in ("cancelled", "refunded")
