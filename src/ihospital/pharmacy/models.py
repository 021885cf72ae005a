"""Tables of pharmacies and their stock.

A pharmacy dispenses for one institution: the institution's own pharmacy (``hospital``) or a
partner retail pharmacy (``retail``, 合作零售药店) with its own licence. Stock is counted in
packages: ``on_hand`` in the pharmacy, ``reserved`` for orders not yet dispensed; the database
keeps ``0 <= reserved <= on_hand`` so stock is never oversold, whatever the concurrency.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

KINDS = ("hospital", "retail")


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
