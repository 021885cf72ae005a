"""API shapes of pharmacy deliveries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from ihospital.core.schemas import Schema
from ihospital.pharmacy.shipments import ShipmentView

NOTE_MAX_LENGTH = 500


class TrackingEventRead(Schema):
    carrier_event_id: str
    status: str
    location: str
    occurred_at: datetime
    received_at: datetime
    applied: bool  # false: came after a later scan, kept for the record only


class TemperatureReadingRead(Schema):
    carrier_reading_id: str
    celsius: Decimal
    measured_at: datetime
    received_at: datetime
    within_range: bool  # 2–8 °C


class ShipmentRead(Schema):
    id: int
    carrier: str
    carrier_shipment_id: str
    order_reference: str
    institution_id: int
    cold_chain: bool
    status: str
    carrier_status: str
    excursion: str
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    excursion_decided_at: datetime | None
    excursion_note: str | None


class ShipmentDetail(ShipmentRead):
    events: list[TrackingEventRead]
    readings: list[TemperatureReadingRead]

    @classmethod
    def of(cls, view: ShipmentView) -> ShipmentDetail:
        fields = ShipmentRead.model_validate(view.shipment).model_dump()
        return cls(
            **fields,
            events=[TrackingEventRead.model_validate(event) for event in view.events],
            readings=[TemperatureReadingRead.model_validate(row) for row in view.readings],
        )


class ExcursionDecision(Schema):
    """The pharmacist's decision on a cold-chain excursion, with the reason."""

    accept: bool
    note: Annotated[str, Field(min_length=1, max_length=NOTE_MAX_LENGTH)]


class CallbackAck(Schema):
    outcome: str  # applied, duplicate
