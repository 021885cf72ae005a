"""API shapes of pharmacies, their stock and pharmacy orders (money in yuan at the edges)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ihospital.core.money import fen_to_yuan
from ihospital.core.schemas import Schema
from ihospital.directory.validation import person_name, phone, plain_text, proper_name
from ihospital.identity.accounts import validate_mobile
from ihospital.pharmacy.models import Pharmacy, PharmacyOrder, PharmacyStock
from ihospital.pharmacy.orders import Candidate, Offer
from ihospital.pharmacy.service import OrderView
from ihospital.pharmacy.stock import MAX_PACKAGES
from ihospital.prescribing.models import Drug


def _columns(model: type[Schema], row: object) -> dict[str, object]:
    """The row's attributes that ``model`` has fields for."""
    return {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}


Yuan = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), decimal_places=2)]
PlainText = Annotated[str, AfterValidator(plain_text)]


class PharmacyWrite(Schema):
    """A pharmacy as the institution's admin registers it."""

    kind: Literal["hospital", "retail"]
    name: Annotated[str, Field(min_length=2, max_length=128), AfterValidator(proper_name)]
    licence_number: Annotated[PlainText, Field(min_length=4, max_length=64)]
    address: Annotated[PlainText, Field(min_length=4, max_length=256)]
    phone: Annotated[str, Field(min_length=5, max_length=32), AfterValidator(phone)]
    offers_delivery: bool
    offers_pickup: bool
    cold_chain: bool
    delivery_fee: Yuan = Decimal(0)
    active: bool = True


class PharmacyRead(Schema):
    id: int
    institution_id: int
    kind: str
    name: str
    licence_number: str
    address: str
    phone: str
    offers_delivery: bool
    offers_pickup: bool
    cold_chain: bool
    delivery_fee: Decimal
    active: bool

    @classmethod
    def of(cls, pharmacy: Pharmacy) -> PharmacyRead:
        return cls.model_validate(
            {**_columns(cls, pharmacy), "delivery_fee": fen_to_yuan(pharmacy.delivery_fee_fen)}
        )


class StockSet(Schema):
    """A count of packages (盘点) and the price per package."""

    on_hand: Annotated[int, Field(ge=0, le=MAX_PACKAGES)]
    price: Yuan


class StockChange(Schema):
    """Packages received (positive) or removed (negative), with the reason (损耗, 过期 …)."""

    change: Annotated[int, Field(ge=-MAX_PACKAGES, le=MAX_PACKAGES)]
    reason: Annotated[PlainText, Field(min_length=2, max_length=200)]


class StockRead(Schema):
    drug_id: int
    drug_name: str
    on_hand: int
    reserved: int
    price: Decimal

    @classmethod
    def of(cls, stock: PharmacyStock, drug: Drug) -> StockRead:
        return cls(
            drug_id=drug.id,
            drug_name=drug.generic_name_zh,
            on_hand=stock.on_hand,
            reserved=stock.reserved,
            price=fen_to_yuan(stock.price_fen),
        )


class PharmacyOfferRead(Schema):
    drug_id: int
    drug_name: str
    quantity: int
    price: Decimal | None
    in_stock: bool

    @classmethod
    def of(cls, offer: Offer) -> PharmacyOfferRead:
        return cls(
            drug_id=offer.wanted.drug.id,
            drug_name=offer.wanted.item.drug_name,
            quantity=offer.wanted.item.quantity,
            price=None if offer.price_fen is None else fen_to_yuan(offer.price_fen),
            in_stock=offer.in_stock,
        )


class CandidateRead(Schema):
    """A pharmacy that could fill the prescription, with prices and availability."""

    pharmacy: PharmacyRead
    drugs: list[PharmacyOfferRead]
    drugs_total: Decimal
    all_in_stock: bool
    delivery_possible: bool
    pickup_possible: bool

    @classmethod
    def of(cls, candidate: Candidate) -> CandidateRead:
        return cls(
            pharmacy=PharmacyRead.of(candidate.pharmacy),
            drugs=[PharmacyOfferRead.of(offer) for offer in candidate.offers],
            drugs_total=fen_to_yuan(candidate.drugs_fen),
            all_in_stock=candidate.all_in_stock,
            delivery_possible=candidate.delivery_possible,
            pickup_possible=candidate.pickup_possible,
        )


class PharmacyOrderCreate(Schema):
    """An order of a prescription's drugs: the pharmacy, delivery (with where to) or pick-up,
    and the risk notice confirmed (R19)."""

    prescription_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    pharmacy_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    fulfilment: Literal["delivery", "pickup"]
    risk_notice_confirmed: bool
    recipient_name: (
        Annotated[str, Field(min_length=1, max_length=32), AfterValidator(person_name)] | None
    ) = None
    recipient_phone: Annotated[str, AfterValidator(validate_mobile)] | None = None
    address: Annotated[PlainText, Field(min_length=5, max_length=200)] | None = None


class CancelCreate(Schema):
    reason: Annotated[PlainText, Field(min_length=2, max_length=32)] = "patient"


class HandOverCreate(Schema):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class OrderItemRead(Schema):
    drug_id: int
    drug_name: str
    quantity: int
    unit_price: Decimal


class PharmacyOrderRead(Schema):
    id: int
    number: str
    prescription_id: int
    patient_id: int
    pharmacy_id: int
    billing_order_id: int | None
    status: str
    fulfilment: str
    cold_chain: bool
    recipient_name: str | None
    recipient_phone: str | None
    delivery_address: str | None
    drugs_total: Decimal
    delivery_fee: Decimal
    tracking_number: str | None
    shipment_id: int | None
    created_at: datetime
    paid_at: datetime | None
    dispensed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    picked_up_at: datetime | None
    cancelled_at: datetime | None
    items: Annotated[list[OrderItemRead], Field(default_factory=list)]
    pickup_code: str | None = None

    @classmethod
    def of(cls, order: PharmacyOrder, *, show_code: bool = False) -> PharmacyOrderRead:
        values = {
            **_columns(cls, order),
            "drugs_total": fen_to_yuan(order.drugs_fen),
            "delivery_fee": fen_to_yuan(order.delivery_fee_fen),
            "pickup_code": order.pickup_code if show_code else None,
            "items": [],
        }
        return cls.model_validate(values)

    @classmethod
    def of_view(cls, view: OrderView, *, show_code: bool) -> PharmacyOrderRead:
        read = cls.of(view.order, show_code=show_code)
        read.items = [
            OrderItemRead(
                drug_id=item.drug_id,
                drug_name=item.drug_name,
                quantity=item.quantity,
                unit_price=fen_to_yuan(item.unit_price_fen),
            )
            for item in view.items
        ]
        return read
