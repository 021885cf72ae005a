"""Tables of pharmacies, their stock and the orders patients place for approved prescriptions.

A pharmacy dispenses for one institution: the institution's own pharmacy (``hospital``) or a
partner retail pharmacy (``retail``, 合作零售药店) with its own licence. Stock is counted in
packages: ``on_hand`` in the pharmacy, ``reserved`` for orders not yet dispensed; the database
keeps ``0 <= reserved <= on_hand`` so stock is never oversold, whatever the concurrency.

A pharmacy order buys the drugs of one approved prescription (R06, R08, R19) at one pharmacy of
its institution, for delivery or pick-up at the window (窗口取药). A prescription has at most one
live order (a partial unique index); see :mod:`ihospital.pharmacy.orders` for its states.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

KINDS = ("hospital", "retail")
FULFILMENTS = ("delivery", "pickup")
ORDER_STATUSES = (
    "created",
    "paid",
    "dispensed",
    "shipped",
    "delivered",
    "picked_up",
    "cancelled",
    "refunded",
)
ENDED = ("cancelled", "refunded")  # an order in these no longer holds its prescription


class Pharmacy(IdMixin, Base):
    """A pharmacy serving ``institution_id``, with what it offers: delivery, pick-up at the
    window (窗口取药) and cold-chain storage."""

    __tablename__ = "pharmacies"
    __table_args__ = (CheckConstraint("kind IN ('hospital','retail')", name="kind_known"),)

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    licence_number: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(256))
    phone: Mapped[str] = mapped_column(String(32))
    offers_delivery: Mapped[bool]
    offers_pickup: Mapped[bool]
    cold_chain: Mapped[bool]
    active: Mapped[bool]
    created_at: Mapped[datetime]
    delivery_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class PharmacyStock(IdMixin, Base):
    """One drug's stock and selling price (fen per package) at one pharmacy."""

    __tablename__ = "pharmacy_stock"
    __table_args__ = (
        UniqueConstraint("pharmacy_id", "drug_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
    )

    pharmacy_id: Mapped[int] = mapped_column(BigId, ForeignKey("pharmacies.id"))
    drug_id: Mapped[int] = mapped_column(BigId, ForeignKey("drugs.id"), index=True)
    on_hand: Mapped[int]
    reserved: Mapped[int]
    price_fen: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class PharmacyOrder(IdMixin, Base):
    """购药订单: the drugs of ``prescription_id`` bought by the account managing the 就诊人 at
    ``pharmacy_id``, delivered to ``delivery_address`` or picked up at the window with
    ``pickup_code``. ``delivery_fee_fen`` is never covered by insurance (DOMAIN.md)."""

    __tablename__ = "pharmacy_orders"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ",".join(f"'{status}'" for status in ORDER_STATUSES) + ")",
            name="status_known",
        ),
        CheckConstraint("fulfilment IN ('delivery','pickup')", name="fulfilment_known"),
        CheckConstraint(
            "fulfilment <> 'delivery' OR delivery_address IS NOT NULL", name="delivery_addressed"
        ),
        CheckConstraint("fulfilment <> 'pickup' OR pickup_code IS NOT NULL", name="pickup_coded"),
        CheckConstraint("drugs_fen >= 0 AND delivery_fee_fen >= 0", name="amounts_not_negative"),
        CheckConstraint("pickup_attempts >= 0", name="attempts_not_negative"),
        Index(
            "uq_pharmacy_orders_live_prescription",
            "prescription_id",
            unique=True,
            sqlite_where=text("status NOT IN ('cancelled','refunded')"),
            postgresql_where=text("status NOT IN ('cancelled','refunded')"),
        ),
        Index("ix_pharmacy_orders_pharmacy_status", "pharmacy_id", "status"),
        Index("ix_pharmacy_orders_institution_created", "institution_id", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    prescription_id: Mapped[int] = mapped_column(BigId, ForeignKey("prescriptions.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    pharmacy_id: Mapped[int] = mapped_column(BigId, ForeignKey("pharmacies.id"))
    billing_order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_orders.id"))
    status: Mapped[str] = mapped_column(String(16))
    fulfilment: Mapped[str] = mapped_column(String(16))
    cold_chain: Mapped[bool]
    recipient_name: Mapped[str | None] = mapped_column(String(64))
    recipient_phone: Mapped[str | None] = mapped_column(String(32))
    delivery_address: Mapped[str | None] = mapped_column(String(256))
    pickup_code: Mapped[str | None] = mapped_column(String(6))
    pickup_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    drugs_fen: Mapped[int] = mapped_column(BigInteger)
    delivery_fee_fen: Mapped[int] = mapped_column(BigInteger)
    risk_notice_confirmed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    dispensed_at: Mapped[datetime | None]
    dispensed_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    shipped_at: Mapped[datetime | None]
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    shipment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("pharmacy_shipments.id"), index=True
    )
    delivered_at: Mapped[datetime | None]
    picked_up_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    refunded_at: Mapped[datetime | None]


class PharmacyOrderItem(IdMixin, Base):
    """One drug of an order: ``quantity`` packages at the pharmacy's price when ordered."""

    __tablename__ = "pharmacy_order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "drug_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_fen >= 0", name="price_not_negative"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("pharmacy_orders.id"))
    drug_id: Mapped[int] = mapped_column(BigId, ForeignKey("drugs.id"))
    drug_name: Mapped[str] = mapped_column(String(256))
    insurance_class: Mapped[str] = mapped_column(String(1))
    quantity: Mapped[int]
    unit_price_fen: Mapped[int] = mapped_column(BigInteger)


RETURN_DECISIONS = ("restock", "destroy")


class OrderReturn(IdMixin, Base):
    """退回药品: the parcel of a dispensed delivery order that came back to ``pharmacy_id`` (a
    failed delivery that was refunded, or a parcel rejected after a cold-chain excursion),
    received once, then put back into stock (``restock``) or destroyed with a written reason
    (``destroy``, 报损), once."""

    __tablename__ = "pharmacy_order_returns"
    __table_args__ = (
        CheckConstraint(
            "decision IS NULL OR decision IN ('restock','destroy')", name="decision_known"
        ),
        CheckConstraint("decision IS NULL OR decided_at IS NOT NULL", name="decision_dated"),
        CheckConstraint(
            "decision IS NULL OR decision <> 'destroy' OR reason <> ''", name="reasoned"
        ),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("pharmacy_orders.id"), unique=True)
    pharmacy_id: Mapped[int] = mapped_column(BigId, ForeignKey("pharmacies.id"), index=True)
    received_at: Mapped[datetime]
    received_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime | None]
    decided_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
