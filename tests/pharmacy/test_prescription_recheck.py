"""The prescription is checked again when its drugs are ordered and when they are dispensed: a
prescription changed in the database after the doctor signed it, or with a forged signature,
cannot be ordered or dispensed, nor can an expired one be dispensed (R06, R16); the refusal is a
clear problem+json in zh-CN and English and writes nothing."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from ihospital.billing.models import Order
from ihospital.errors import AppError
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.models import PharmacyOrder, PharmacyStock
from ihospital.pharmacy.orders import place_order
from ihospital.prescribing.models import Prescription, PrescriptionItem
from tests.billing.builders import reloaded
from tests.pharmacy.delivery_builders import paid_order
from tests.pharmacy.order_builders import headers_of, make_shop, problem_of

EN = {"Accept-Language": "en"}


async def _written(session) -> dict[str, int]:
    counts = {
        model.__tablename__: await session.scalar(select(func.count()).select_from(model))
        for model in (PharmacyOrder, Order, OutboxEvent)
    }
    counts["reserved"] = await session.scalar(select(func.sum(PharmacyStock.reserved)))
    counts["on_hand"] = await session.scalar(select(func.sum(PharmacyStock.on_hand)))
    return counts


async def _change_the_dose(session, prescription: Prescription) -> None:
    """What someone with access to the database might do after the doctor signed."""
    await session.execute(
        update(PrescriptionItem)
        .where(PrescriptionItem.prescription_id == prescription.id)
        .values(dose=Decimal("40"))
    )


async def test_a_prescription_changed_after_signing_cannot_be_ordered(client, session, clock):
    shop = await make_shop(session, clock=clock)
    patient = await headers_of(session, clock, shop.patient.account_id)
    await _change_the_dose(session, shop.prescription)
    before = await _written(session)
    body = {
        "prescription_id": shop.prescription.id,
        "pharmacy_id": shop.pharmacy.id,
        "fulfilment": "pickup",
        "risk_notice_confirmed": True,
    }
    for headers, words in (
        (patient, "签名后处方内容被修改过"),
        ({**patient, **EN}, "changed after"),
    ):
        refused = await client.post("/api/pharmacy-orders", json=body, headers=headers)
        problem = problem_of(refused, 409, "pharmacy.prescription_not_authentic")
        assert problem["reason"] == "content_changed" and words in problem["detail"]
        assert shop.prescription.number in problem["detail"]
    listed = await client.get(
        f"/api/prescriptions/{shop.prescription.id}/pharmacies", headers=patient
    )
    problem_of(listed, 409, "pharmacy.prescription_not_authentic")
    assert await _written(session) == before


async def test_a_forged_signature_cannot_be_ordered(session, clock):
    shop = await make_shop(session, clock=clock)
    shop.prescription.signature = base64.b64encode(bytes(64)).decode()
    await session.flush()
    with pytest.raises(AppError) as refused:
        await place_order(
            session,
            shop.buyer(clock),
            prescription_id=shop.prescription.id,
            pharmacy_id=shop.pharmacy.id,
            fulfilment="pickup",
            risk_notice_confirmed=True,
        )
    assert refused.value.status == 409 and refused.value.fields["reason"] == "signature_invalid"


async def test_a_prescription_changed_after_ordering_cannot_be_dispensed(client, session, clock):
    shop = await make_shop(session, clock=clock)
    order = await paid_order(session, clock, shop)
    staff = await headers_of(session, clock, shop.pharmacist.id)
    await _change_the_dose(session, shop.prescription)
    before = await _written(session)
    refused = await client.post(f"/api/pharmacy/orders/{order.id}/dispense", headers=staff)
    problem = problem_of(refused, 409, "pharmacy.prescription_not_authentic")
    assert problem["reason"] == "content_changed"
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "paid"
    assert (await reloaded(session, Prescription, shop.prescription.id)).status == "approved"
    assert await _written(session) == before


async def test_an_expired_prescription_cannot_be_dispensed(client, session, clock):
    shop = await make_shop(session, clock=clock)
    order = await paid_order(session, clock, shop)
    clock.advance(timedelta(days=5))
    staff = await headers_of(session, clock, shop.pharmacist.id)
    before = await _written(session)
    refused = await client.post(
        f"/api/pharmacy/orders/{order.id}/dispense", headers={**staff, **EN}
    )
    problem = problem_of(refused, 422, "rule.R16")
    assert "expired" in problem["detail"]
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "paid"
    assert await _written(session) == before
