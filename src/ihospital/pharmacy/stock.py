"""Pharmacies and their stock: the institution's admins register the institution's own pharmacy
and partner retail pharmacies (合作零售药店) with what they offer; the institution's pharmacists
keep the stock (set a count and price, receive a delivery, adjust with a reason).

Stock moves for orders through :func:`reserve`, :func:`release`, :func:`consume` and
:func:`put_back` (a returned parcel restocked): each is one conditional UPDATE per drug, so
concurrent orders never take more than ``on_hand - reserved`` (the database also keeps
``0 <= reserved <= on_hand``). Every change is audited (R13).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution, may_manage
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.pharmacy.models import Pharmacy, PharmacyStock
from ihospital.prescribing.models import Drug
from ihospital.security.permissions import Role

MAX_PACKAGES = 1_000_000
STOCK_FIELD_MESSAGE = "Enter a whole number of packages from 0 to {limit}."


@dataclass(frozen=True)
class PharmacyValues:
    """What an institution admin says about a pharmacy."""

    kind: str
    name: str
    licence_number: str
    address: str
    phone: str
    offers_delivery: bool
    offers_pickup: bool
    cold_chain: bool
    delivery_fee_fen: int
    active: bool = True


def pharmacy_not_found(pharmacy_id: int) -> NotFound:
    return NotFound(
        "pharmacy.not_found", "Pharmacy {pharmacy_id} was not found.", pharmacy_id=pharmacy_id
    )


def out_of_stock(drug_id: int) -> Conflict:
    return Conflict(
        "pharmacy.out_of_stock",
        "This pharmacy does not have enough of drug {drug_id} in stock.",
        drug_id=drug_id,
    )


def works_at(actor: Actor, institution_id: int) -> bool:
    """A pharmacist of the institution (or the system acting for it)."""
    return actor.role == "system" or (
        actor.role == Role.PHARMACIST and actor.institution_id == institution_id
    )


async def _audit(session: AsyncSession, actor: Actor, action: str, subject: object, **details):
    await record(
        session,
        actor,
        action=action,
        subject_type="pharmacy",
        subject_id=subject,
        details=details,
    )


async def create_pharmacy(
    session: AsyncSession, actor: Actor, *, institution_id: int, values: PharmacyValues
) -> Pharmacy:
    """Register a pharmacy dispensing for the admin's institution."""
    await managed_institution(session, actor, institution_id)
    pharmacy = Pharmacy(institution_id=institution_id, created_at=actor.clock.now())
    _apply(pharmacy, values)
    session.add(pharmacy)
    await session.flush()
    await _audit(session, actor, "pharmacy.create", pharmacy.id, **_described(values))
    return pharmacy


async def update_pharmacy(
    session: AsyncSession, actor: Actor, *, pharmacy_id: int, values: PharmacyValues
) -> Pharmacy:
    """Change what a pharmacy of the admin's institution is and offers (or close it)."""
    pharmacy = await session.get(Pharmacy, pharmacy_id, with_for_update=True)
    if pharmacy is None or not may_manage(actor, pharmacy.institution_id):
        raise pharmacy_not_found(pharmacy_id)
    _apply(pharmacy, values)
    await session.flush()
    await _audit(session, actor, "pharmacy.update", pharmacy.id, **_described(values))
    return pharmacy


def _apply(pharmacy: Pharmacy, values: PharmacyValues) -> None:
    if values.kind not in ("hospital", "retail"):
        raise Unprocessable(
            "pharmacy.kind_invalid", "Choose hospital or retail pharmacy.", field="kind"
        )
    if not (values.offers_delivery or values.offers_pickup):
        raise Unprocessable(
            "pharmacy.no_fulfilment",
            "A pharmacy offers delivery, pick-up at the window, or both.",
            field="offers_pickup",
        )
    for name, value in values.__dict__.items():
        setattr(pharmacy, name, value)


def _described(values: PharmacyValues) -> dict[str, object]:
    return {key: value for key, value in values.__dict__.items() if key != "phone"}


async def institution_pharmacies(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> list[Pharmacy]:
    """The pharmacies of an institution, for its admins and pharmacists."""
    if not (may_manage(actor, institution_id) or works_at(actor, institution_id)):
        raise NotFound("directory.institution_not_found", "This institution does not exist.")
    rows = await session.scalars(
        select(Pharmacy).where(Pharmacy.institution_id == institution_id).order_by(Pharmacy.id)
    )
    return list(rows.all())


async def staffed_pharmacy(session: AsyncSession, actor: Actor, pharmacy_id: int) -> Pharmacy:
    """A pharmacy of the pharmacist's institution (others are not found)."""
    pharmacy = await session.get(Pharmacy, pharmacy_id)
    if pharmacy is None or not works_at(actor, pharmacy.institution_id):
        raise pharmacy_not_found(pharmacy_id)
    return pharmacy


async def pharmacy_stock(
    session: AsyncSession, actor: Actor, *, pharmacy_id: int
) -> list[tuple[PharmacyStock, Drug]]:
    """A pharmacy's stock with each drug, for its institution's pharmacists."""
    await staffed_pharmacy(session, actor, pharmacy_id)
    rows = await session.execute(
        select(PharmacyStock, Drug)
        .join(Drug, Drug.id == PharmacyStock.drug_id)
        .where(PharmacyStock.pharmacy_id == pharmacy_id)
        .order_by(Drug.generic_name_zh, Drug.id)
    )
    return [(stock, drug) for stock, drug in rows.all()]


def _packages(value: int, field: str, *, lowest: int = 0) -> int:
    if not lowest <= value <= MAX_PACKAGES:
        raise Unprocessable(
            "pharmacy.quantity_invalid", STOCK_FIELD_MESSAGE, field=field, limit=MAX_PACKAGES
        )
    return value


async def _stock_row(session: AsyncSession, pharmacy_id: int, drug_id: int) -> PharmacyStock | None:
    return await session.scalar(
        select(PharmacyStock)
        .where(PharmacyStock.pharmacy_id == pharmacy_id, PharmacyStock.drug_id == drug_id)
        .with_for_update()
    )


async def set_stock(
    session: AsyncSession,
    actor: Actor,
    *,
    pharmacy_id: int,
    drug_id: int,
    on_hand: int,
    price_fen: int,
) -> PharmacyStock:
    """Count a drug's packages at the pharmacy (盘点) and set its price per package; the count
    cannot fall below what orders have reserved."""
    await staffed_pharmacy(session, actor, pharmacy_id)
    _packages(on_hand, "on_hand")
    if not 0 <= price_fen <= 10**9:
        raise Unprocessable("pharmacy.price_invalid", "Enter a price from 0.", field="price")
    if await session.get(Drug, drug_id) is None:
        raise NotFound("pharmacy.drug_not_found", "Drug {drug_id} was not found.", drug_id=drug_id)
    stock = await _stock_row(session, pharmacy_id, drug_id)
    now = actor.clock.now()
    if stock is None:
        stock = PharmacyStock(pharmacy_id=pharmacy_id, drug_id=drug_id, reserved=0)
        session.add(stock)
    elif on_hand < stock.reserved:
        raise _below_reserved(stock)
    stock.on_hand, stock.price_fen, stock.updated_at = on_hand, price_fen, now
    await session.flush()
    await _audit(
        session, actor, "pharmacy.stock.set", pharmacy_id, drug_id=drug_id, on_hand=on_hand,
        price_fen=price_fen,
    )  # fmt: skip
    return stock


async def change_stock(
    session: AsyncSession,
    actor: Actor,
    *,
    pharmacy_id: int,
    drug_id: int,
    change: int,
    reason: str,
) -> PharmacyStock:
    """Receive packages (入库, ``reason`` "received") or adjust the count by ``change`` with a
    written reason (损耗, 过期 …); the count never falls below what orders have reserved."""
    await staffed_pharmacy(session, actor, pharmacy_id)
    _packages(abs(change), "change", lowest=1)
    stock = await _stock_row(session, pharmacy_id, drug_id)
    if stock is None:
        raise NotFound(
            "pharmacy.stock_not_found",
            "Drug {drug_id} is not stocked by this pharmacy.",
            drug_id=drug_id,
        )
    if stock.on_hand + change < stock.reserved or stock.on_hand + change > MAX_PACKAGES:
        raise _below_reserved(stock)
    stock.on_hand += change
    stock.updated_at = actor.clock.now()
    await session.flush()
    await _audit(
        session, actor, "pharmacy.stock.change", pharmacy_id, drug_id=drug_id, change=change,
        reason=reason, on_hand=stock.on_hand,
    )  # fmt: skip
    return stock


def _below_reserved(stock: PharmacyStock) -> Conflict:
    return Conflict(
        "pharmacy.below_reserved",
        "Orders hold {reserved} packages of this drug; the count cannot be lower.",
        reserved=stock.reserved,
        field="on_hand",
    )


def _matching(pharmacy_id: int, drug_id: int):
    return update(PharmacyStock).where(
        PharmacyStock.pharmacy_id == pharmacy_id, PharmacyStock.drug_id == drug_id
    )


async def reserve(
    session: AsyncSession, actor: Actor, *, pharmacy_id: int, quantities: Mapping[int, int]
) -> None:
    """Hold ``quantities`` (packages by drug id) for an order, all or nothing: one conditional
    UPDATE per drug, in drug order so concurrent orders lock rows in the same order."""
    now = actor.clock.now()
    async with session.begin_nested():
        for drug_id, quantity in sorted(quantities.items()):
            result = await session.execute(
                _matching(pharmacy_id, drug_id)
                .where(PharmacyStock.on_hand - PharmacyStock.reserved >= quantity)
                .values(reserved=PharmacyStock.reserved + quantity, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise out_of_stock(drug_id)


async def release(
    session: AsyncSession, actor: Actor, *, pharmacy_id: int, quantities: Mapping[int, int]
) -> None:
    """Give back what an order held (cancelled, or not paid in time)."""
    await _move(session, actor, pharmacy_id, quantities, on_hand_too=False)


async def consume(
    session: AsyncSession, actor: Actor, *, pharmacy_id: int, quantities: Mapping[int, int]
) -> None:
    """The held packages leave the pharmacy (dispensed): on hand and reserved both fall."""
    await _move(session, actor, pharmacy_id, quantities, on_hand_too=True)


async def _move(
    session: AsyncSession,
    actor: Actor,
    pharmacy_id: int,
    quantities: Mapping[int, int],
    *,
    on_hand_too: bool,
) -> None:
    now = actor.clock.now()
    for drug_id, quantity in sorted(quantities.items()):
        values = {"reserved": PharmacyStock.reserved - quantity, "updated_at": now}
        if on_hand_too:
            values["on_hand"] = PharmacyStock.on_hand - quantity
        result = await session.execute(
            _matching(pharmacy_id, drug_id)
            .where(PharmacyStock.reserved >= quantity)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            # the reservation is the order's own: missing, it was never made (a bug, not input)
            raise RuntimeError(f"no reservation of drug {drug_id} at pharmacy {pharmacy_id}")


async def put_back(
    session: AsyncSession,
    actor: Actor,
    *,
    pharmacy_id: int,
    quantities: Mapping[int, int],
    order_id: int,
) -> None:
    """Packages of a dispensed order that came back unopened and fit for use go back on hand,
    each drug audited as a stock change with the reason ``returned`` and the order."""
    now = actor.clock.now()
    for drug_id, quantity in sorted(quantities.items()):
        result = await session.execute(
            _matching(pharmacy_id, drug_id)
            .values(on_hand=PharmacyStock.on_hand + quantity, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            # the order was dispensed from this row: missing, it never was (a bug, not input)
            raise RuntimeError(f"no stock of drug {drug_id} at pharmacy {pharmacy_id}")
        await _audit(
            session, actor, "pharmacy.stock.change", pharmacy_id, drug_id=drug_id,
            change=quantity, reason="returned", order_id=order_id,
        )  # fmt: skip
