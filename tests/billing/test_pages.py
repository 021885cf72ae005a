"""The bill pages and the sandbox payer page: a patient pays a bill end to end in the browser."""

from datetime import timedelta

from ihospital.billing.models import Order
from ihospital.identity.models import Account
from tests.billing.builders import make_order, reloaded, run_outbox
from tests.identity.builders import csrf_token, make_account
from tests.web.builders import sign_in_as


async def test_a_patient_pays_a_bill_through_the_sandbox_page(
    app, client, session, session_factory, clock
):
    order = await make_order(session, clock=clock)
    owner = await session.get(Account, order.account_id)
    await sign_in_as(session, client, account=owner, clock=clock)
    listing = await client.get("/bills")
    assert listing.status_code == 200 and f"/bills/{order.id}" in listing.text
    page = await client.get(f"/bills/{order.id}")
    assert "¥89.00" in page.text and 'name="idempotency_key"' in page.text
    token = await csrf_token(client)
    paying = await client.post(
        f"/bills/{order.id}/pay",
        data={"channel": "sandbox", "idempotency_key": "page-1", "csrf_token": token},
    )
    assert paying.status_code == 303
    pay_url = paying.headers["location"]
    assert pay_url.startswith("/billing/sandbox/pay/")
    sandbox_page = await client.get(pay_url)
    assert sandbox_page.status_code == 200 and "¥89.00" in sandbox_page.text
    paid = await client.post(
        pay_url, data={"decision": "pay", "plan": "twice", "csrf_token": token}
    )
    assert paid.status_code == 303
    assert (await reloaded(session, Order, order.id)).status == "pending"
    await run_outbox(
        session_factory, clock, app.state.payment_providers, advance=timedelta(seconds=1)
    )
    assert (await reloaded(session, Order, order.id)).status == "paid"
    await run_outbox(
        session_factory, clock, app.state.payment_providers, advance=timedelta(seconds=30)
    )
    receipt = await client.get(f"/bills/{order.id}")
    assert "verification-code" in receipt.text


async def test_someone_elses_bill_page_is_not_found(client, session, clock):
    order = await make_order(session, clock=clock)
    stranger = await make_account(session, clock=clock)
    await sign_in_as(session, client, account=stranger, clock=clock)
    response = await client.get(f"/bills/{order.id}")
    assert response.status_code == 404


async def test_an_unknown_sandbox_payment_page_is_not_found(client):
    response = await client.get("/billing/sandbox/pay/nothing-here")
    assert response.status_code == 404
