"""R13.6 (a doctor's prescriptions) and R19.1 (a 就诊人's purchases of a drug) fire when far
above their peers' median and stay silent within it, below the minimum or without peers."""

import json
from dataclasses import replace

from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.pharmacy.orders import place_order
from ihospital.pharmacy.states import SUBSCRIBERS as PHARMACY_ORDERS
from ihospital.pharmacy.states import confirm_paid
from ihospital.prescribing.events import PUBLICATIONS as PRESCRIPTIONS
from ihospital.prescribing.service import SIGNED
from ihospital.supervision import volume_tasks
from ihospital.supervision.rule_settings import set_thresholds
from ihospital.supervision.volume_tasks import ORDER_PAID, far_above
from tests.identity.builders import make_account, make_patient
from tests.pharmacy.order_builders import approved_prescription, make_shop
from tests.prescribing.builders import Line, make_prescription
from tests.supervision.builders import BEIJING, alerts_of
from tests.supervision.test_alert_rules import test_the_rules_subscribe_to_the_domains_events


def test_the_volume_rules_subscribe_to_prescriptions_and_paid_orders():
    test_the_rules_subscribe_to_the_domains_events()
    assert volume_tasks.prescriptions_far_above_normal in PRESCRIPTIONS.subscribers[SIGNED]
    assert volume_tasks.purchases_far_above_normal in PHARMACY_ORDERS[ORDER_PAID]


def test_far_above_compares_with_the_median_of_the_peers():
    assert far_above(10, [2, 3, 100], percent_of_median=300, minimum=5) == 3
    assert far_above(9, [2, 3, 100], percent_of_median=300, minimum=5) is None  # 3 × 3
    assert far_above(4, [1], percent_of_median=300, minimum=5) is None  # below the minimum
    assert far_above(50, [], percent_of_median=300, minimum=5) is None  # no peers


async def _regulator(session, clock):
    account = await make_account(session, role="regulator", clock=clock)
    account.region_code = BEIJING
    await session.flush()
    return Actor(role="regulator", clock=clock, account_id=account.id, region_code=BEIJING)


async def _doctor_world(session, clock, *, colleague_writes: int):
    """The shop's doctor signed 4 prescriptions (the shop's and 3 more), the colleague of the
    same department ``colleague_writes``; R13.6 needs at least 3."""
    shop = await make_shop(session, clock=clock)
    await set_thresholds(
        session, await _regulator(session, clock), rule_id="R13.6", values={"min_count": 3}
    )
    for _ in range(3):
        await approved_prescription(session, clock=clock, practice=shop.practice, drug=shop.drug)
    consultation = await session.get(Consultation, shop.prescription.consultation_id)
    for _ in range(colleague_writes):
        await make_prescription(
            session,
            clock=clock,
            doctor=shop.practice.colleague,
            consultation=consultation,
            lines=[Line(shop.drug)],
        )
    return shop


def _signed(shop, clock) -> dict:
    return {
        "prescription_id": shop.prescription.id,
        "institution_id": shop.practice.institution.id,
        "patient_id": shop.patient.id,
        "prescriber_id": shop.practice.doctor.id,
        "issued_at": clock.now().isoformat(),
    }


async def test_a_doctor_prescribing_far_above_the_departments_median_opens_an_alert(session, clock):
    shop = await _doctor_world(session, clock, colleague_writes=1)
    await volume_tasks.prescriptions_far_above_normal(
        session, Actor.system(clock), 1, _signed(shop, clock)
    )
    [alert] = await alerts_of(session, "R13.6")
    assert alert.subject.startswith(f"practitioner:{shop.practice.doctor.id}:")
    assert alert.patient_id is None
    details = json.loads(alert.details)
    assert (details["count"], details["peer_median"], details["peers"]) == (4, 1, 1)


async def test_a_doctor_within_the_limit_of_the_median_is_silent(session, clock):
    shop = await _doctor_world(session, clock, colleague_writes=2)  # 4 ≤ 3 × 2
    await volume_tasks.prescriptions_far_above_normal(
        session, Actor.system(clock), 1, _signed(shop, clock)
    )
    assert await alerts_of(session, "R13.6") == []


async def _buy(session, clock, shop, patient, quantity: int) -> int:
    """``patient`` orders ``quantity`` packages of the shop's drug and pays: the order's id."""
    prescription = await approved_prescription(
        session,
        clock=clock,
        practice=shop.practice,
        drug=shop.drug,
        patient=patient,
        quantity=quantity,
    )
    buyer = replace(shop, patient=patient).buyer(clock)
    order = await place_order(
        session,
        buyer,
        prescription_id=prescription.id,
        pharmacy_id=shop.pharmacy.id,
        fulfilment="pickup",
        risk_notice_confirmed=True,
    )
    await confirm_paid(
        session, Actor.system(clock), order_id=order.id, billing_order_id=order.billing_order_id
    )
    return order.id


async def _new_patient(session, clock):
    return await make_patient(
        session, account=await make_account(session, clock=clock), clock=clock
    )


async def _paid(session, clock, shop, patient, order_id: int) -> None:
    await volume_tasks.purchases_far_above_normal(
        session,
        Actor.system(clock),
        1,
        {
            "order_id": order_id,
            "institution_id": shop.practice.institution.id,
            "patient_id": patient.id,
        },
    )


async def test_a_patient_buying_far_above_the_other_buyers_opens_an_alert(session, clock):
    shop = await make_shop(session, clock=clock, on_hand=100)
    for _ in range(2):
        await _buy(session, clock, shop, await _new_patient(session, clock), 2)
    hoarder = await _new_patient(session, clock)
    order_id = await _buy(session, clock, shop, hoarder, 12)
    await _paid(session, clock, shop, hoarder, order_id)
    [alert] = await alerts_of(session, "R19.1")
    assert alert.patient_id == hoarder.id
    details = json.loads(alert.details)
    assert (details["quantity"], details["peer_median"], details["drug_id"]) == (
        12,
        2,
        shop.drug.id,
    )


async def test_a_patient_buying_below_the_minimum_or_without_other_buyers_is_silent(session, clock):
    shop = await make_shop(session, clock=clock, on_hand=100)
    alone = await _new_patient(session, clock)
    await _paid(session, clock, shop, alone, await _buy(session, clock, shop, alone, 40))
    await _buy(session, clock, shop, await _new_patient(session, clock), 1)
    modest = await _new_patient(session, clock)
    await _paid(session, clock, shop, modest, await _buy(session, clock, shop, modest, 9))
    assert await alerts_of(session, "R19.1") == []
