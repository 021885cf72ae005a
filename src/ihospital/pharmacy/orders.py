"""Ordering the drugs of an approved prescription (购药) and paying for them through billing.

Only the account managing the 就诊人 orders, only from a prescription a pharmacist approved
(R06; never a drug without a prescription, R08), not expired (R16, Asia/Shanghai days), not
filled and not already ordered (R19: a prescription has at most one live order, which a partial
unique index also keeps). The 就诊人 must be real-name verified and the risk notice confirmed
(R19). The patient picks a pharmacy of the institution with every drug in stock, for delivery
(a cold-chain pharmacy when a drug needs cold chain) or pick-up at the window. The stock is
reserved in the same transaction; the billing order (drugs, and a delivery fee insurance never
covers) waits :data:`HOLD_MINUTES` for payment. States::

    created ──> paid ──> dispensed ──> shipped ──> delivered
       │          │           └──> picked_up
       └──> cancelled <──┘ (paid: refunded through billing, then ``refunded``)

Every transition is audited and published as ``pharmacy.order_<status>`` (R13).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.orders import LineItem, create_order
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, RuleViolation, Unprocessable
from ihospital.identity.patients import account_of_patient, lock_patient_for_action
from ihospital.pharmacy.models import Pharmacy, PharmacyOrder, PharmacyOrderItem, PharmacyStock
from ihospital.pharmacy.prescription_checks import check_usable
from ihospital.pharmacy.states import transition
from ihospital.pharmacy.stock import out_of_stock, pharmacy_not_found, reserve
from ihospital.prescribing.models import Drug, Prescription, PrescriptionItem

HOLD_MINUTES = 30
SUBJECT_TYPE = "pharmacy_order"
DELIVERY_DESCRIPTION = "药品配送费"  # shown on the bill as written


@dataclass(frozen=True)
class Wanted:
    """One drug of the prescription: ``quantity`` packages."""

    item: PrescriptionItem
    drug: Drug


@dataclass(frozen=True)
class Offer:
    """One drug at one pharmacy: its price per package, and whether enough is free."""

    wanted: Wanted
    price_fen: int | None
    in_stock: bool


@dataclass(frozen=True)
class Candidate:
    """A pharmacy for the prescription: each drug's price and availability, the totals, and how
    the order could be fulfilled there."""

    pharmacy: Pharmacy
    offers: list[Offer]
    drugs_fen: int
    delivery_possible: bool
    pickup_possible: bool

    @property
    def all_in_stock(self) -> bool:
        return all(offer.in_stock for offer in self.offers)


def prescription_not_found(prescription_id: int) -> NotFound:
    return NotFound(
        "pharmacy.prescription_not_found",
        "Prescription {prescription_id} was not found.",
        prescription_id=prescription_id,
    )


async def fillable_prescription(
    session: AsyncSession, actor: Actor, *, prescription_id: int, for_update: bool = False
) -> tuple[Prescription, list[Wanted]]:
    """One of the account's prescriptions that may still be bought: approved by a pharmacist
    (R06, R08), not filled (R19), within its validity (R16) and still what its doctor signed
    (R06, :mod:`~ihospital.pharmacy.prescription_checks`); another account's is not found.
    ``for_update`` locks it, so orders of the same prescription are taken one after another."""
    statement = select(Prescription).where(Prescription.id == prescription_id)
    prescription = await session.scalar(statement.with_for_update() if for_update else statement)
    if prescription is None or actor.account_id is None:
        raise prescription_not_found(prescription_id)
    if await account_of_patient(session, patient_id=prescription.patient_id) != actor.account_id:
        raise prescription_not_found(prescription_id)
    if prescription.status == "filled":
        raise RuleViolation(
            "R19", "This prescription has already been filled and cannot be used again."
        )
    if prescription.status != "approved":
        raise RuleViolation(
            "R06",
            "Only a prescription approved by a pharmacist can be filled.",
            prescription_status=prescription.status,
        )
    rows = await session.execute(
        select(PrescriptionItem, Drug)
        .join(Drug, Drug.id == PrescriptionItem.drug_id)
        .where(PrescriptionItem.prescription_id == prescription.id)
        .order_by(PrescriptionItem.position)
    )
    wanted = [Wanted(item, drug) for item, drug in rows.all()]
    await check_usable(session, actor, prescription, [line.item for line in wanted])
    return prescription, wanted


def needs_cold_chain(wanted: list[Wanted]) -> bool:
    return any(line.drug.cold_chain for line in wanted)


async def _candidates(
    session: AsyncSession, prescription: Prescription, wanted: list[Wanted]
) -> list[Candidate]:
    pharmacies = (
        await session.scalars(
            select(Pharmacy)
            .where(Pharmacy.institution_id == prescription.institution_id, Pharmacy.active)
            .order_by(Pharmacy.id)
        )
    ).all()
    stock = {
        (row.pharmacy_id, row.drug_id): row
        for row in await session.scalars(
            select(PharmacyStock).where(
                PharmacyStock.pharmacy_id.in_([pharmacy.id for pharmacy in pharmacies]),
                PharmacyStock.drug_id.in_([line.drug.id for line in wanted]),
            )
        )
    }
    cold = needs_cold_chain(wanted)
    candidates = []
    for pharmacy in pharmacies:
        offers = []
        for line in wanted:
            row = stock.get((pharmacy.id, line.drug.id))
            free = row is not None and row.on_hand - row.reserved >= line.item.quantity
            offers.append(Offer(line, None if row is None else row.price_fen, free))
        candidates.append(
            Candidate(
                pharmacy=pharmacy,
                offers=offers,
                drugs_fen=sum((o.price_fen or 0) * o.wanted.item.quantity for o in offers),
                delivery_possible=pharmacy.offers_delivery and (pharmacy.cold_chain or not cold),
                pickup_possible=pharmacy.offers_pickup,
            )
        )
    return candidates


async def candidate_pharmacies(
    session: AsyncSession, actor: Actor, *, prescription_id: int
) -> tuple[Prescription, list[Candidate]]:
    """The pharmacies of the prescription's institution with each drug's price and
    availability, those with everything in stock first (the read is audited)."""
    prescription, wanted = await fillable_prescription(
        session, actor, prescription_id=prescription_id
    )
    candidates = await _candidates(session, prescription, wanted)
    await record(
        session,
        actor,
        action="pharmacy.candidates.read",
        subject_type="prescription",
        subject_id=prescription.id,
        patient_id=prescription.patient_id,
    )
    return prescription, sorted(candidates, key=lambda c: (not c.all_in_stock, c.drugs_fen))


@dataclass(frozen=True)
class Delivery:
    """Where a delivery goes."""

    recipient_name: str
    recipient_phone: str
    address: str


async def place_order(
    session: AsyncSession,
    actor: Actor,
    *,
    prescription_id: int,
    pharmacy_id: int,
    fulfilment: str,
    risk_notice_confirmed: bool,
    delivery: Delivery | None = None,
) -> PharmacyOrder:
    """Order the drugs of an approved prescription at one pharmacy (R06, R08, R16, R19),
    reserve them and bill the account; refused with nothing written when any rule fails or a
    drug is short."""
    if not risk_notice_confirmed:
        raise RuleViolation(
            "R19", "Confirm that you have read the risk notice before buying prescription drugs."
        )
    if fulfilment not in ("delivery", "pickup"):
        raise Unprocessable(
            "pharmacy.fulfilment_invalid", "Choose delivery or pick-up.", field="fulfilment"
        )
    if fulfilment == "pickup":
        delivery = None
    else:
        _check_delivery(delivery)
    prescription, wanted = await fillable_prescription(
        session, actor, prescription_id=prescription_id, for_update=True
    )
    patient = await lock_patient_for_action(session, actor, patient_id=prescription.patient_id)
    if patient.realname_status != "verified":
        raise RuleViolation(
            "R19", "Drugs are sold to real-name verified patients only; verify the patient first."
        )
    pharmacy = await session.get(Pharmacy, pharmacy_id)
    if (
        pharmacy is None
        or not pharmacy.active
        or pharmacy.institution_id != prescription.institution_id
    ):
        raise pharmacy_not_found(pharmacy_id)
    [candidate] = [
        c for c in await _candidates(session, prescription, wanted) if c.pharmacy is pharmacy
    ]
    _check_fulfilment(candidate, fulfilment, cold=needs_cold_chain(wanted))
    for offer in candidate.offers:
        if not offer.in_stock:  # checked again, under concurrency, by the reservation
            raise out_of_stock(offer.wanted.drug.id)
    delivery_fee = pharmacy.delivery_fee_fen if fulfilment == "delivery" else 0
    order = PharmacyOrder(
        number=f"PO{actor.clock.today_local():%Y%m%d}{secrets.randbelow(10**10):010d}",
        prescription_id=prescription.id,
        patient_id=prescription.patient_id,
        account_id=actor.account_id,
        institution_id=prescription.institution_id,
        pharmacy_id=pharmacy.id,
        status="created",
        fulfilment=fulfilment,
        cold_chain=needs_cold_chain(wanted),
        recipient_name=delivery.recipient_name if delivery else None,
        recipient_phone=delivery.recipient_phone if delivery else None,
        delivery_address=delivery.address if delivery else None,
        pickup_code=f"{secrets.randbelow(10**6):06d}" if fulfilment == "pickup" else None,
        pickup_attempts=0,
        drugs_fen=candidate.drugs_fen,
        delivery_fee_fen=delivery_fee,
        risk_notice_confirmed_at=actor.clock.now(),
        created_at=actor.clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(order)
            await session.flush()
    except IntegrityError:
        raise _already_ordered() from None
    session.add_all(
        PharmacyOrderItem(
            order_id=order.id,
            drug_id=offer.wanted.drug.id,
            drug_name=offer.wanted.item.drug_name,
            insurance_class=offer.wanted.drug.insurance_class,
            quantity=offer.wanted.item.quantity,
            unit_price_fen=offer.price_fen or 0,
        )
        for offer in candidate.offers
    )
    await reserve(
        session,
        actor,
        pharmacy_id=pharmacy.id,
        quantities={line.drug.id: line.item.quantity for line in wanted},
    )
    order.billing_order_id = (
        await create_order(
            session,
            actor,
            patient_id=order.patient_id,
            institution_id=order.institution_id,
            lines=_bill_lines(order, candidate, online=prescription.consultation_id is not None),
            hold_minutes=HOLD_MINUTES,
            idempotency_key=f"pharmacy-order:{order.id}:bill",
        )
    ).id
    await transition(session, actor, order, "created", fulfilment=fulfilment)
    return order


def _check_delivery(delivery: Delivery | None) -> None:
    for field in ("recipient_name", "recipient_phone", "address"):
        if delivery is None or not getattr(delivery, field):
            raise Unprocessable(
                "pharmacy.delivery_incomplete",
                "Enter the recipient's name, mobile number and address for a delivery.",
                field=field,
            )


def _already_ordered() -> Conflict:
    return Conflict(
        "pharmacy.prescription_ordered",
        "The drugs of this prescription have already been ordered.",
    )


def _check_fulfilment(candidate: Candidate, fulfilment: str, *, cold: bool) -> None:
    if fulfilment == "pickup" and not candidate.pickup_possible:
        raise Conflict("pharmacy.no_pickup", "This pharmacy does not offer pick-up at the window.")
    if fulfilment == "delivery" and not candidate.pharmacy.offers_delivery:
        raise Conflict("pharmacy.no_delivery", "This pharmacy does not deliver.")
    if fulfilment == "delivery" and cold and not candidate.delivery_possible:
        raise Conflict(
            "pharmacy.cold_chain_required",
            "A drug of this prescription needs cold chain; choose a cold-chain pharmacy or "
            "pick-up at the window.",
        )


def _bill_lines(order: PharmacyOrder, candidate: Candidate, *, online: bool) -> list[LineItem]:
    lines = [
        LineItem(
            kind="drug",
            subject_type=SUBJECT_TYPE,
            subject_id=str(order.id),
            description=offer.wanted.item.drug_name[:128],
            unit_price_fen=offer.price_fen or 0,
            quantity=offer.wanted.item.quantity,
            drug_class=offer.wanted.drug.insurance_class,
            online_follow_up=online,
        )
        for offer in candidate.offers
    ]
    if order.delivery_fee_fen:
        # a delivery fee is never covered by medical insurance (DOMAIN.md)
        lines.append(
            LineItem(
                kind="delivery",
                subject_type=SUBJECT_TYPE,
                subject_id=str(order.id),
                description=DELIVERY_DESCRIPTION,
                unit_price_fen=order.delivery_fee_fen,
            )
        )
    return lines
