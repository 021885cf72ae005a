"""What every delivery carrier offers: SF Express (顺丰), JD Logistics (京东物流) and the
cold-chain carriers all fit this shape.

- ``create_shipment`` books a pickup (下单) for one of our pharmacy orders; the order's
  reference makes it idempotent, so a call that timed out is simply made again.
- ``cancel_shipment`` cancels a shipment not yet out for delivery.
- ``tracking`` pulls the tracking of a shipment (路由查询): the fallback when callbacks are lost.
- ``verify_callback`` checks the signature of a tracking callback (路由推送) and parses it;
  anything unsigned, tampered, stale or malformed raises :class:`InvalidCallback`.

Calls that cannot reach the carrier in time raise :class:`CarrierTimeout` (the outcome is
unknown: call again); a refusal raises :class:`CarrierDeclined`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from ihospital.billing.providers.sandbox import Delivery

TrackingStatus = Literal["accepted", "in_transit", "out_for_delivery", "delivered", "failed"]
TRACKING_STATUSES: tuple[TrackingStatus, ...] = (
    "accepted",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "failed",
)


class CarrierError(Exception):
    """Base of what a carrier call can raise."""


class CarrierTimeout(CarrierError):
    """The carrier did not answer in time; the outcome is unknown."""


class CarrierDeclined(CarrierError):
    """The carrier refused the request (an address it does not serve, too late to cancel)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidCallback(CarrierError):
    """A callback whose signature, timestamp or content cannot be trusted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Address:
    name: str
    phone: str
    province: str
    city: str
    district: str
    line: str


@dataclass(frozen=True)
class Parcel:
    reference: str
    weight_grams: int
    description: str


@dataclass(frozen=True)
class TrackingEvent:
    """One scan of a shipment; ``event_id`` is the carrier's, the same in every delivery."""

    event_id: str
    status: TrackingStatus
    occurred_at: datetime
    location: str = ""


@dataclass(frozen=True)
class TemperatureReading:
    """One reading of a cold-chain box's logger."""

    reading_id: str
    celsius: Decimal
    measured_at: datetime


@dataclass(frozen=True)
class TrackingUpdate:
    """What a callback or a pull tells about one shipment."""

    carrier_shipment_id: str
    events: tuple[TrackingEvent, ...] = ()
    readings: tuple[TemperatureReading, ...] = ()


@dataclass(frozen=True)
class BookedShipment:
    """The carrier's answer to ``create_shipment``. ``callbacks`` are those a simulated carrier
    asks us to deliver on its behalf (outbox timers); a real carrier sends its own, so it
    returns none."""

    carrier_shipment_id: str
    callbacks: tuple[Delivery, ...] = ()


class Carrier(Protocol):
    name: str
    cold_chain: bool  # keeps parcels at 2–8 °C and reports the temperature

    async def create_shipment(
        self,
        *,
        order_reference: str,
        sender: Address,
        recipient: Address,
        cold_chain: bool,
        parcels: tuple[Parcel, ...],
    ) -> BookedShipment: ...

    async def cancel_shipment(self, *, carrier_shipment_id: str) -> None: ...

    async def tracking(self, *, carrier_shipment_id: str) -> TrackingUpdate: ...

    def verify_callback(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> TrackingUpdate: ...
