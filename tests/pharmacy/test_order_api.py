"""Pharmacies, stock and pharmacy orders through the JSON API: the patient buys and follows an
order, the pharmacist dispenses and hands it over; bad input is a clear problem+json in zh-CN
and English, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order
from ihospital.core.context import Actor
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.models import PharmacyOrder, PharmacyStock
from ihospital.pharmacy.states import confirm_paid
from tests.identity.builders import auth_headers, make_account, make_patient
from tests.pharmacy.order_builders import approved_prescription, make_shop

EN = {"Accept-Language": "en"}
COUNTED = (PharmacyOrder, Order, OutboxEvent, PharmacyStock)


async def _headers(session, clock, account_id: int) -> dict[str, str]:
    return await auth_headers(session, account=await session.get(Account, account_id), clock=clock)


async def _counts(session) -> dict[str, int]:
    counts = {
        model.__tablename__: await session.scalar(select(func.count()).select_from(model))
        for model in COUNTED
    }
    counts["reserved"] = await session.scalar(select(func.sum(PharmacyStock.reserved)))
    return counts


def _body(shop, **changes) -> dict:
    return {
        "prescription_id": shop.prescription.id,
        "pharmacy_id": shop.pharmacy.id,
        "fulfilment": "pickup",
        "risk_notice_confirmed": True,
        **changes,
    }


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    return body


async def test_a_patient_buys_and_the_window_hands_the_drugs_over(client, session, clock):
    shop = await make_shop(session, clock=clock)
    patient = await _headers(session, clock, shop.patient.account_id)
    staff = await _headers(session, clock, shop.pharmacist.id)
    found = await client.get(
        f"/api/prescriptions/{shop.prescription.id}/pharmacies", headers=patient
    )
    assert found.status_code == 200
    [candidate] = found.json()
    assert (candidate["all_in_stock"], candidate["drugs_total"]) == (True, "57.00")

    placed = await client.post("/api/pharmacy-orders", json=_body(shop), headers=patient)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "created" and len(order["pickup_code"]) == 6
    assert [item["quantity"] for item in order["items"]] == [2]
    await confirm_paid(
        session,
        Actor.system(clock),
        order_id=order["id"],
        billing_order_id=order["billing_order_id"],
    )
    seen = await client.get(f"/api/pharmacy/orders/{order['id']}", headers=staff)
    assert seen.json()["pickup_code"] is None  # the code is the patient's to show
    dispensed = await client.post(f"/api/pharmacy/orders/{order['id']}/dispense", headers=staff)
    assert dispensed.json()["status"] == "dispensed"

    wrong = "000000" if order["pickup_code"] != "000000" else "111111"
    refused = await client.post(
        f"/api/pharmacy/orders/{order['id']}/hand-over", json={"code": wrong}, headers=staff
    )
    assert _problem(refused, 422, "pharmacy.pickup_code_wrong")["detail"] == (
        "取药码错误，还可尝试 4 次。"
    )
    assert (await session.get(PharmacyOrder, order["id"])).pickup_attempts == 1
    handed = await client.post(
        f"/api/pharmacy/orders/{order['id']}/hand-over",
        json={"code": order["pickup_code"]},
        headers=staff,
    )
    assert handed.json()["status"] == "picked_up"
    mine = await client.get(f"/api/pharmacy-orders/{order['id']}", headers=patient)
    assert mine.json()["picked_up_at"] is not None


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_ordering_more_than_the_stock_is_refused_and_changes_nothing(
    client, session, clock, language
):
    shop = await make_shop(session, clock=clock, on_hand=1)
    headers = await _headers(session, clock, shop.patient.account_id)
    before = await _counts(session)
    refused = await client.post(
        "/api/pharmacy-orders",
        json=_body(shop),
        headers={**headers, **(EN if language == "en" else {})},
    )
    body = _problem(refused, 409, "pharmacy.out_of_stock")
    assert body["detail"] == (
        f"This pharmacy does not have enough of drug {shop.drug.id} in stock."
        if language == "en"
        else f"该药房药品 {shop.drug.id} 库存不足。"
    )
    assert await _counts(session) == before


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("expired", 422, "rule.R16"),
        ("rejected", 422, "rule.R06"),
        ("filled", 422, "rule.R19"),
        ("another patient's", 404, "pharmacy.prescription_not_found"),
        ("no risk notice", 422, "rule.R19"),
        ("delivery without address", 422, "pharmacy.delivery_incomplete"),
    ],
)
async def test_a_prescription_that_cannot_be_filled_is_refused(
    client, session, clock, case, status, code
):
    shop = await make_shop(session, clock=clock)
    headers = await _headers(session, clock, shop.patient.account_id)
    body = _body(shop)
    if case == "expired":
        clock.advance(timedelta(hours=15))  # past midnight in Shanghai
    elif case in ("rejected", "filled"):
        shop.prescription.status = case
        await session.flush()
    elif case == "another patient's":
        stranger = await make_patient(
            session, account=await make_account(session, clock=clock), clock=clock
        )
        other = await approved_prescription(
            session, clock=clock, practice=shop.practice, drug=shop.drug, patient=stranger
        )
        body["prescription_id"] = other.id
    elif case == "no risk notice":
        body["risk_notice_confirmed"] = False
    else:
        body["fulfilment"] = "delivery"
    before = await _counts(session)
    response = await client.post("/api/pharmacy-orders", json=body, headers=headers)
    _problem(response, status, code)
    assert await _counts(session) == before


async def test_a_malformed_pick_up_code_names_the_field(client, session, clock):
    shop = await make_shop(session, clock=clock)
    staff = await _headers(session, clock, shop.pharmacist.id)
    response = await client.post(
        "/api/pharmacy/orders/1/hand-over", json={"code": "12ab"}, headers=staff
    )
    body = _problem(response, 422, "request.invalid")
    assert body["errors"][0]["field"] == "code"


async def test_the_admin_registers_a_pharmacy_and_the_pharmacist_keeps_its_stock(
    client, session, clock
):
    shop = await make_shop(session, clock=clock)
    admin = await _headers(session, clock, shop.practice.admin.id)
    staff = await _headers(session, clock, shop.pharmacist.id)
    created = await client.post(
        f"/api/institutions/{shop.practice.institution.id}/pharmacies",
        json={
            "kind": "retail",
            "name": "老百姓大药房（珞喻路店）",
            "licence_number": "鄂CA0270123",
            "address": "武汉市洪山区珞喻路88号",
            "phone": "027-87654321",
            "offers_delivery": True,
            "offers_pickup": False,
            "cold_chain": True,
            "delivery_fee": "6.00",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    pharmacy_id = created.json()["id"]
    counted = await client.put(
        f"/api/pharmacies/{pharmacy_id}/stock/{shop.drug.id}",
        json={"on_hand": 3, "price": "27.50"},
        headers=staff,
    )
    assert counted.json() == {
        "drug_id": shop.drug.id,
        "drug_name": shop.drug.generic_name_zh,
        "on_hand": 3,
        "reserved": 0,
        "price": "27.50",
    }
    received = await client.post(
        f"/api/pharmacies/{pharmacy_id}/stock/{shop.drug.id}/changes",
        json={"change": 5, "reason": "入库"},
        headers=staff,
    )
    assert received.json()["on_hand"] == 8
    # the shop's pharmacy holds 2 packages for an order: its count cannot fall below that
    await client.post(
        "/api/pharmacy-orders",
        json=_body(shop),
        headers=await _headers(session, clock, shop.patient.account_id),
    )
    below = await client.post(
        f"/api/pharmacies/{shop.pharmacy.id}/stock/{shop.drug.id}/changes",
        json={"change": -9, "reason": "过期报损"},
        headers=staff,
    )
    _problem(below, 409, "pharmacy.below_reserved")
    assert (
        await session.scalar(
            select(func.count()).where(AuditEntry.action == "pharmacy.stock.change")
        )
        == 1
    )


async def test_staff_of_another_institution_cannot_touch_a_pharmacy(client, session, clock):
    shop = await make_shop(session, clock=clock)
    other = await make_shop(session, clock=clock)
    staff = await _headers(session, clock, other.pharmacist.id)
    admin = await _headers(session, clock, other.practice.admin.id)
    stock = await client.get(f"/api/pharmacies/{shop.pharmacy.id}/stock", headers=staff)
    _problem(stock, 404, "pharmacy.not_found")
    listing = await client.get(
        f"/api/institutions/{shop.practice.institution.id}/pharmacies", headers=admin
    )
    assert listing.status_code == 404
