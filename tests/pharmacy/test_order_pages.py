"""Pharmacy order pages without JavaScript: the patient buys from the prescription's page
(长辈模式 too) and sees the pick-up code and the order's progress; the pharmacist dispenses and
hands over at the window from the queue."""

from __future__ import annotations

from sqlalchemy import select

from ihospital.core.context import Actor
from ihospital.identity.models import Account
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.pharmacy.states import confirm_paid
from tests.identity.builders import csrf_token
from tests.pharmacy.order_builders import make_shop
from tests.web.builders import sign_in_as


async def _signed_in(session, client, clock, account_id: int, *, elder: bool = False) -> None:
    account = await session.get(Account, account_id)
    account.elder_mode = elder
    await session.flush()
    await sign_in_as(session, client, account=account, clock=clock)


async def test_the_patient_buys_from_the_elder_mode_page(client, session, clock):
    shop = await make_shop(session, clock=clock)
    await _signed_in(session, client, clock, shop.patient.account_id, elder=True)
    url = f"/prescriptions/{shop.prescription.id}/buy"
    page = await client.get(url)
    assert page.status_code == 200
    assert 'class="elder"' in page.text and shop.pharmacy.name in page.text
    assert page.text.count("btn-primary") == 1
    form = {
        "csrf_token": await csrf_token(client),
        "pharmacy_id": str(shop.pharmacy.id),
        "fulfilment": "pickup",
    }
    unconfirmed = await client.post(url, data=form)
    assert unconfirmed.status_code == 422
    assert "购买处方药前，请确认已阅读风险提示。" in unconfirmed.text
    assert await session.scalar(select(PharmacyOrder.id)) is None

    sent = await client.post(url, data={**form, "risk_notice_confirmed": "1"})
    assert sent.status_code == 303
    order = await session.scalar(select(PharmacyOrder))
    assert sent.headers["location"] == f"/pharmacy-orders/{order.id}"
    await confirm_paid(
        session, Actor.system(clock), order_id=order.id, billing_order_id=order.billing_order_id
    )
    shown = await client.get(f"/pharmacy-orders/{order.id}")
    assert f'data-code="{order.pickup_code}"' in shown.text
    assert "已支付，备药中" in shown.text
    listing = await client.get("/pharmacy-orders")
    assert f"/pharmacy-orders/{order.id}" in listing.text


async def test_a_delivery_without_an_address_is_shown_next_to_the_field(client, session, clock):
    shop = await make_shop(session, clock=clock)
    await _signed_in(session, client, clock, shop.patient.account_id)
    url = f"/prescriptions/{shop.prescription.id}/buy"
    await client.get(url)
    sent = await client.post(
        url,
        data={
            "csrf_token": await csrf_token(client),
            "pharmacy_id": str(shop.pharmacy.id),
            "fulfilment": "delivery",
            "risk_notice_confirmed": "1",
        },
    )
    assert sent.status_code == 422
    assert 'id="error-recipient_name"' in sent.text
    assert await session.scalar(select(PharmacyOrder.id)) is None


async def test_the_pharmacist_dispenses_and_hands_over_at_the_window(client, session, clock):
    shop = await make_shop(session, clock=clock)
    await _signed_in(session, client, clock, shop.patient.account_id)
    url = f"/prescriptions/{shop.prescription.id}/buy"
    await client.get(url)
    await client.post(
        url,
        data={
            "csrf_token": await csrf_token(client),
            "pharmacy_id": str(shop.pharmacy.id),
            "fulfilment": "pickup",
            "risk_notice_confirmed": "1",
        },
    )
    order = await session.scalar(select(PharmacyOrder))
    await confirm_paid(
        session, Actor.system(clock), order_id=order.id, billing_order_id=order.billing_order_id
    )
    client.cookies.clear()
    await _signed_in(session, client, clock, shop.pharmacist.id)
    queue = await client.get("/pharmacy/orders")
    assert f"/pharmacy/orders/{order.id}/dispense" in queue.text
    token = await csrf_token(client)
    dispensed = await client.post(
        f"/pharmacy/orders/{order.id}/dispense", data={"csrf_token": token}
    )
    assert dispensed.status_code == 303
    wrong = "000000" if order.pickup_code != "000000" else "111111"
    refused = await client.post(
        f"/pharmacy/orders/{order.id}/hand-over", data={"csrf_token": token, "code": wrong}
    )
    assert refused.status_code == 303
    shown = await client.get("/pharmacy/orders")
    assert "取药码错误，还可尝试 4 次。" in shown.text
    handed = await client.post(
        f"/pharmacy/orders/{order.id}/hand-over",
        data={"csrf_token": token, "code": order.pickup_code},
    )
    assert handed.status_code == 303
    await session.refresh(order)
    assert order.status == "picked_up"
