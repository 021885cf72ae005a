"""The billing API over HTTP: bills, paying, the notification endpoint, refunds, receipts."""

from datetime import timedelta

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order, Payment, Refund
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from tests.billing.builders import assert_ledger_sound, new_key, reloaded, run_outbox
from tests.directory.builders import make_institution, make_staff
from tests.identity.builders import auth_headers, make_account, make_patient

LINES = [
    {
        "kind": "consultation",
        "subject_type": "consultation",
        "subject_id": "42",
        "description": "图文问诊",
        "unit_price": "30.00",
    },
    {
        "kind": "drug",
        "subject_type": "prescription_item",
        "subject_id": "9",
        "description": "氨氯地平片",
        "unit_price": "12.34",
        "quantity": 2,
    },
]


async def _setup(session, clock):
    institution = await make_institution(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    patient = await make_patient(session, clock=clock)
    owner = await session.get(Account, patient.account_id)
    return (
        institution,
        patient,
        await auth_headers(session, account=admin, clock=clock),
        await auth_headers(session, account=owner, clock=clock),
    )


async def _bill(client, admin_headers, institution, patient, **changes):
    body = {
        "patient_id": patient.id,
        "institution_id": institution.id,
        "idempotency_key": new_key(),
        "lines": LINES,
        **changes,
    }
    return await client.post("/api/billing/orders", json=body, headers=admin_headers)


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["code"] == code


async def _pay_and_notify(app, client, clock, headers, order_id):
    response = await client.post(
        f"/api/billing/orders/{order_id}/payments",
        json={"channel": "sandbox", "idempotency_key": new_key()},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    provider = app.state.payment_providers["sandbox"]
    [delivery] = await provider.pay(response.json()["pay_url"].rsplit("/", 1)[1])
    notified = await client.post(
        "/api/billing/notify/sandbox",
        content=delivery.body,
        headers=provider.sign(delivery.body, now=clock.now()),
    )
    assert notified.status_code == 200, notified.text
    return response.json(), delivery


async def test_bill_pay_by_notification_and_read_the_receipt(app, client, session, clock):
    institution, patient, admin, owner = await _setup(session, clock)
    created = await _bill(client, admin, institution, patient)
    assert created.status_code == 201, created.text
    bill = created.json()
    assert (bill["total_fen"], bill["total"], bill["status"]) == (5468, "54.68", "pending")
    assert [line["amount_fen"] for line in bill["lines"]] == [3000, 2468]
    payment, _ = await _pay_and_notify(app, client, clock, owner, bill["id"])
    assert payment["pay_url"].startswith("/billing/sandbox/pay/")
    mine = await client.get(f"/api/billing/orders/{bill['id']}", headers=owner)
    assert mine.json()["status"] == "paid"
    receipt = mine.json()["receipt"]
    assert receipt["paid_fen"] == 5468
    checked = await client.get(
        "/api/billing/receipts/verify",
        params={"number": receipt["number"], "code": receipt["verification_code"]},
    )
    assert checked.status_code == 200 and checked.json()["paid_fen"] == 5468
    forged = await client.get(
        "/api/billing/receipts/verify", params={"number": receipt["number"], "code": "AAAA-BBBB"}
    )
    _problem(forged, 404, "billing.receipt_not_valid")
    listing = await client.get("/api/billing/orders", headers=owner)
    assert [item["id"] for item in listing.json()["items"]] == [bill["id"]]
    reads = select(func.count()).where(AuditEntry.action == "billing.order.read")
    assert await session.scalar(reads) >= 1


async def test_the_same_order_key_answers_the_same_bill(client, session, clock):
    institution, patient, admin, _ = await _setup(session, clock)
    key = new_key()
    first = await _bill(client, admin, institution, patient, idempotency_key=key)
    again = await _bill(client, admin, institution, patient, idempotency_key=key)
    assert again.json()["id"] == first.json()["id"]
    other = await _bill(client, admin, institution, patient, idempotency_key=key, lines=LINES[:1])
    _problem(other, 409, "billing.idempotency_key_reused")


async def test_bad_amounts_are_refused_and_create_nothing(client, session, clock):
    institution, patient, admin, _ = await _setup(session, clock)
    for price, message in (
        ("-1.00", "An amount cannot be negative."),
        ("1.234", "An amount has at most two decimals (fen)."),
        ("abc", "Enter an amount in yuan, such as 12.34."),
        (12.5, "Enter an amount in yuan, such as 12.34."),
    ):
        lines = [{**LINES[0], "unit_price": price}]
        response = await client.post(
            "/api/billing/orders",
            json={
                "patient_id": patient.id,
                "institution_id": institution.id,
                "idempotency_key": new_key(),
                "lines": lines,
            },
            headers={**admin, "Accept-Language": "en"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["message"] == message
    zero = await _bill(client, admin, institution, patient, lines=[{**LINES[0], "unit_price": "0"}])
    _problem(zero, 422, "billing.amount_zero")
    assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_a_patient_cannot_see_or_pay_someone_elses_bill(client, session, clock):
    institution, patient, admin, _ = await _setup(session, clock)
    bill = (await _bill(client, admin, institution, patient)).json()
    stranger = await auth_headers(session, account=await make_account(session, clock=clock))
    _problem(
        await client.get(f"/api/billing/orders/{bill['id']}", headers=stranger),
        404,
        "billing.order_not_found",
    )
    paying = await client.post(
        f"/api/billing/orders/{bill['id']}/payments",
        json={"idempotency_key": "x"},
        headers=stranger,
    )
    _problem(paying, 404, "billing.order_not_found")
    assert await session.scalar(select(func.count()).select_from(Payment)) == 0


async def test_another_institution_cannot_bill_or_refund(client, session, clock):
    institution, patient, _, _ = await _setup(session, clock)
    other = await make_institution(session, clock=clock)
    outsider = await auth_headers(
        session,
        account=await make_staff(session, clock=clock, institution=other, role="institution_admin"),
    )
    _problem(
        await _bill(client, outsider, institution, patient),
        403,
        "billing.institution_not_billable",
    )


async def test_paying_an_expired_or_paid_bill_is_refused(app, client, session, clock):
    institution, patient, admin, owner = await _setup(session, clock)
    bill = (await _bill(client, admin, institution, patient, hold_minutes=5)).json()
    await _pay_and_notify(app, client, clock, owner, bill["id"])
    again = await client.post(
        f"/api/billing/orders/{bill['id']}/payments",
        json={"idempotency_key": new_key()},
        headers=owner,
    )
    _problem(again, 409, "billing.order_paid")
    late = (await _bill(client, admin, institution, patient, hold_minutes=5)).json()
    clock.advance(timedelta(minutes=6))
    expired = await client.post(
        f"/api/billing/orders/{late['id']}/payments",
        json={"idempotency_key": new_key()},
        headers=owner,
    )
    _problem(expired, 409, "billing.order_expired")


async def test_refunds_are_partial_per_line_and_never_exceed_the_payment(
    app, client, session, session_factory, clock
):
    institution, patient, admin, owner = await _setup(session, clock)
    bill = (await _bill(client, admin, institution, patient)).json()
    await _pay_and_notify(app, client, clock, owner, bill["id"])
    drug_line = bill["lines"][1]["id"]
    url = f"/api/billing/orders/{bill['id']}/refunds"
    too_much_for_line = await client.post(
        url, json={"amount": "24.69", "line_id": drug_line, "idempotency_key": "a"}, headers=admin
    )
    _problem(too_much_for_line, 409, "billing.refund_exceeds_payment")
    first = await client.post(
        url, json={"amount": "12.34", "line_id": drug_line, "idempotency_key": "b"}, headers=admin
    )
    assert first.status_code == 201, first.text
    repeated = await client.post(
        url, json={"amount": "12.34", "line_id": drug_line, "idempotency_key": "b"}, headers=admin
    )
    assert repeated.json()["id"] == first.json()["id"]
    too_much = await client.post(
        url, json={"amount": "42.35", "idempotency_key": "c"}, headers=admin
    )
    _problem(too_much, 409, "billing.refund_exceeds_payment")
    assert too_much.json()["left_fen"] == 4234
    negative = await client.post(url, json={"amount": "-1", "idempotency_key": "d"}, headers=admin)
    assert negative.status_code == 422
    by_patient = await client.post(url, json={"amount": "1", "idempotency_key": "e"}, headers=owner)
    _problem(by_patient, 403, "auth.forbidden")
    rest = await client.post(url, json={"amount": "42.34", "idempotency_key": "f"}, headers=admin)
    assert rest.status_code == 201, rest.text
    order = await reloaded(session, Order, bill["id"])
    assert (order.status, order.refunded_fen) == ("refunded", 5468)
    await run_outbox(session_factory, clock, app.state.payment_providers)
    refunds = (
        await session.scalars(select(Refund).execution_options(populate_existing=True))
    ).all()
    assert {refund.status for refund in refunds} == {"succeeded"}
    balances = await assert_ledger_sound(session)
    assert balances[("clearing", "sandbox")] == 0
    assert balances[("institution_revenue", str(institution.id))] == 0
    assert balances[("pharmacy_revenue", str(institution.id))] == 0


async def test_the_notification_endpoint_refuses_and_audits_bad_signatures(
    app, client, session, clock
):
    institution, patient, admin, owner = await _setup(session, clock)
    bill = (await _bill(client, admin, institution, patient)).json()
    payment = (
        await client.post(
            f"/api/billing/orders/{bill['id']}/payments",
            json={"idempotency_key": new_key()},
            headers=owner,
        )
    ).json()
    provider = app.state.payment_providers["sandbox"]
    [delivery] = await provider.pay(payment["pay_url"].rsplit("/", 1)[1])
    headers = provider.sign(delivery.body, now=clock.now())
    tampered = await client.post(
        "/api/billing/notify/sandbox",
        content=delivery.body.replace('"total":5468', '"total":1'),
        headers=headers,
    )
    _problem(tampered, 400, "billing.notification_bad_signature")
    garbage = await client.post("/api/billing/notify/sandbox", content=b"\xff\x00")
    _problem(garbage, 400, "billing.notification_unsigned")
    unknown = await client.post("/api/billing/notify/alipay", content=b"{}")
    _problem(unknown, 404, "billing.channel_unknown")
    refusals = select(func.count()).where(AuditEntry.action == "billing.notification.refused")
    assert await session.scalar(refusals) == 2
    assert (await reloaded(session, Order, bill["id"])).status == "pending"
    accepted = await client.post(
        "/api/billing/notify/sandbox", content=delivery.body, headers=headers
    )
    assert accepted.json() == {"code": "SUCCESS", "outcome": "paid"}
    replayed = await client.post(
        "/api/billing/notify/sandbox", content=delivery.body, headers=headers
    )
    assert replayed.json() == {"code": "SUCCESS", "outcome": "duplicate"}
    clock.advance(timedelta(minutes=10))
    stale = await client.post("/api/billing/notify/sandbox", content=delivery.body, headers=headers)
    _problem(stale, 400, "billing.notification_stale")


async def test_cancelling_an_unpaid_bill_releases_it(client, session, clock):
    institution, patient, admin, owner = await _setup(session, clock)
    bill = (await _bill(client, admin, institution, patient)).json()
    cancelled = await client.post(f"/api/billing/orders/{bill['id']}/cancel", headers=owner)
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/api/billing/orders/{bill['id']}/cancel", headers=owner)
    _problem(again, 409, "billing.order_cancelled")
