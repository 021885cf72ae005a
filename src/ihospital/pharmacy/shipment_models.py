"""The tables of pharmacy deliveries: shipments, their tracking events and the temperature
readings of cold-chain parcels.

A shipment belongs to a pharmacy order, known here only by its opaque ``order_reference``
(one shipment per reference). ``carrier_status`` is the furthest point the carrier's scans
reached; a late scan is stored but never moves it back. ``status`` is what everyone sees: the
carrier's progress, unless the shipment was cancelled, a cold-chain excursion awaits a
pharmacist's decision (``temperature_excursion``: it cannot become delivered), or the
pharmacist rejected the parcel (``returned``). Scans and readings are unique per carrier id,
so a callback delivered twice is stored once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

CARRIER_STATUSES = ("created", "accepted", "in_transit", "out_for_delivery", "delivered", "failed")
STATUSES = (*CARRIER_STATUSES, "cancelled", "temperature_excursion", "returned")
EXCURSIONS = ("none", "pending", "accepted", "rejected")


def _known(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class Shipment(IdMixin, Base):
    """One parcel (or set of parcels) of a pharmacy order with one carrier."""

    __tablename__ = "pharmacy_shipments"
    __table_args__ = (
        UniqueConstraint("carrier", "carrier_shipment_id"),
        CheckConstraint(_known("status", STATUSES), name="status_known"),
        CheckConstraint(_known("carrier_status", CARRIER_STATUSES), name="carrier_status_known"),
        CheckConstraint(_known("excursion", EXCURSIONS), name="excursion_known"),
        Index("ix_pharmacy_shipments_institution_status", "institution_id", "status"),
    )

    carrier: Mapped[str] = mapped_column(String(32))
    carrier_shipment_id: Mapped[str] = mapped_column(String(64))
    order_reference: Mapped[str] = mapped_column(String(64), unique=True)
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    cold_chain: Mapped[bool]
    status: Mapped[str] = mapped_column(String(24))
    carrier_status: Mapped[str] = mapped_column(String(24))
    excursion: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    excursion_decided_at: Mapped[datetime | None]
    excursion_decided_by_account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id")
    )
    excursion_note: Mapped[str | None] = mapped_column(Text)


class TrackingEventRecord(IdMixin, Base):
    """A carrier's scan as received; ``applied`` is false for a scan that came too late to move
    the shipment (or after it ended)."""

    __tablename__ = "pharmacy_tracking_events"
    __table_args__ = (
        UniqueConstraint("carrier", "carrier_event_id"),
        Index("ix_pharmacy_tracking_events_shipment", "shipment_id", "occurred_at"),
    )

    shipment_id: Mapped[int] = mapped_column(BigId, ForeignKey("pharmacy_shipments.id"))
    carrier: Mapped[str] = mapped_column(String(32))
    carrier_event_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    location: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    applied: Mapped[bool]


class TemperatureReadingRecord(IdMixin, Base):
    """A cold-chain logger reading; ``within_range`` is 2–8 °C inclusive."""

    __tablename__ = "pharmacy_temperature_readings"
    __table_args__ = (
        UniqueConstraint("carrier", "carrier_reading_id"),
        Index("ix_pharmacy_temperature_readings_shipment", "shipment_id", "measured_at"),
    )

    shipment_id: Mapped[int] = mapped_column(BigId, ForeignKey("pharmacy_shipments.id"))
    carrier: Mapped[str] = mapped_column(String(32))
    carrier_reading_id: Mapped[str] = mapped_column(String(64))
    celsius: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    measured_at: Mapped[datetime]
    received_at: Mapped[datetime]
    within_range: Mapped[bool]
