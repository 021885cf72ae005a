"""A carrier simulator that behaves like the real ones, for the demo and the tests.

Like the payment sandbox (:mod:`ihospital.billing.providers.sandbox`) it plays an outside
party: its shipments live in its own books (:mod:`ihospital.billing.sandbox_books`, by default
``<data_dir>/carrier-sandbox.db``). A shipment follows a script chosen when it is booked
(``IHOSPITAL_CARRIER_SANDBOX_SCRIPT``, or :meth:`SandboxCarrier.script_next`):

- ``prompt``: accepted → in_transit → out_for_delivery → delivered, each sent when it happens;
- ``twice``: every callback is sent twice; ``late``: the in_transit scan is sent after the
  delivery; ``out_of_order``: everything is sent at the end, newest first;
- ``failed``: the delivery fails (收件人拒收) after in_transit; ``never``: no callback at all,
  only a pull of the tracking finds the scans.

A cold-chain carrier also reports its logger's readings every 15 minutes, between 4 and 6 °C,
except one half-way at the excursion temperature when one is set. Callbacks travel as outbox
timers and are signed when sent (:mod:`ihospital.security.callback_signing`, keyed with
``IHOSPITAL_CARRIER_SANDBOX_KEY``). ``fail_next`` makes the next booking time out (before or
after the carrier booked it) or be declined, or the next callback go out with a bad signature,
which our endpoint refuses and the carrier retries.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict, deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Boolean, Integer, MetaData, Numeric, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.billing.providers.sandbox import Delivery
from ihospital.billing.sandbox_books import SandboxBase, SandboxBooks
from ihospital.core.clock import Clock
from ihospital.db import NAMING_CONVENTION
from ihospital.pharmacy.carriers.base import (
    TRACKING_STATUSES,
    Address,
    BookedShipment,
    CarrierDeclined,
    CarrierTimeout,
    InvalidCallback,
    Parcel,
    TemperatureReading,
    TrackingEvent,
    TrackingUpdate,
)
from ihospital.security.callback_signing import CallbackSigner, SignatureRefused

Script = Literal["prompt", "twice", "late", "out_of_order", "failed", "never"]
Failure = Literal["timeout", "timeout_after_booking", "declined", "bad_signature"]
SCANS: dict[str, tuple[tuple[int, str], ...]] = {
    "delivered": (
        (600, "accepted"),
        (3600, "in_transit"),
        (7200, "out_for_delivery"),
        (9000, "delivered"),
    ),
    "failed": ((600, "accepted"), (3600, "in_transit"), (9000, "failed")),
}
READING_EVERY = 900
SEND_AFTER = 5
CANCELLABLE_UNTIL = 7200  # out for delivery: too late to cancel


class _CarrierBase(SandboxBase):
    __abstract__ = True
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SandboxShipment(_CarrierBase):
    """A shipment booked at the sandbox carrier."""

    __tablename__ = "sandbox_carrier_shipments"
    __table_args__ = (UniqueConstraint("carrier", "order_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    carrier: Mapped[str] = mapped_column(String(32))
    carrier_shipment_id: Mapped[str] = mapped_column(String(32), unique=True)
    order_reference: Mapped[str] = mapped_column(String(64))
    cold_chain: Mapped[bool] = mapped_column(Boolean)
    script: Mapped[str] = mapped_column(String(16))
    excursion_celsius: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    booked_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]


class SandboxCarrier:
    def __init__(
        self,
        name: str,
        key: str,
        clock: Clock,
        *,
        database_url: str,
        cold_chain: bool,
        script: Script = "prompt",
        excursion_celsius: Decimal | None = None,
    ) -> None:
        if not key:
            raise ValueError("the carrier sandbox needs a key (IHOSPITAL_CARRIER_SANDBOX_KEY)")
        self.name = name
        self.cold_chain = cold_chain
        self._signer = CallbackSigner(key.encode())
        self._clock = clock
        self._books = SandboxBooks(database_url, _CarrierBase.metadata)
        self._script: Script = script
        self._excursion = excursion_celsius
        self._scripts: deque[tuple[Script, Decimal | None]] = deque()
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)

    def fail_next(
        self, operation: Literal["create", "cancel", "callback"], failure: Failure
    ) -> None:
        """Make the next call of ``operation`` (in this process) fail as ``failure``."""
        self._failures[operation].append(failure)

    def script_next(self, script: Script, *, excursion_celsius: Decimal | None = None) -> None:
        """The script (and excursion) of the next shipment booked in this process."""
        self._scripts.append((script, excursion_celsius))

    def _failure(self, operation: str) -> Failure | None:
        return self._failures[operation].popleft() if self._failures[operation] else None

    async def create_shipment(
        self,
        *,
        order_reference: str,
        sender: Address,
        recipient: Address,
        cold_chain: bool,
        parcels: tuple[Parcel, ...],
    ) -> BookedShipment:
        failure = self._failure("create")
        if failure == "timeout":
            raise CarrierTimeout(f"{self.name} did not answer the booking")
        if failure == "declined" or not parcels:
            raise CarrierDeclined("no_service")
        if cold_chain and not self.cold_chain:
            raise CarrierDeclined("no_cold_chain")
        async with self._books.transaction() as books:
            shipment = await books.scalar(
                select(SandboxShipment).where(
                    SandboxShipment.carrier == self.name,
                    SandboxShipment.order_reference == order_reference,
                )
            )
            if shipment is None:
                script, excursion = (
                    self._scripts.popleft() if self._scripts else (self._script, self._excursion)
                )
                shipment = SandboxShipment(
                    carrier=self.name,
                    carrier_shipment_id="SC" + secrets.token_hex(8).upper(),
                    order_reference=order_reference,
                    cold_chain=cold_chain,
                    script=script,
                    excursion_celsius=excursion,
                    booked_at=self._clock.now(),
                )
                books.add(shipment)
        if failure == "timeout_after_booking":
            raise CarrierTimeout(f"{self.name} booked the shipment but the answer was lost")
        return BookedShipment(shipment.carrier_shipment_id, tuple(_deliveries(shipment)))

    async def cancel_shipment(self, *, carrier_shipment_id: str) -> None:
        if self._failure("cancel") == "timeout":
            raise CarrierTimeout(f"{self.name} did not answer the cancellation")
        async with self._books.transaction() as books:
            shipment = await self._shipment(books, carrier_shipment_id)
            elapsed = (self._clock.now() - shipment.booked_at).total_seconds()
            if shipment.cancelled_at is None and elapsed >= CANCELLABLE_UNTIL:
                raise CarrierDeclined("too_late")
            shipment.cancelled_at = shipment.cancelled_at or self._clock.now()

    async def tracking(self, *, carrier_shipment_id: str) -> TrackingUpdate:
        async with self._books.transaction() as books:
            shipment = await self._shipment(books, carrier_shipment_id)
        until = min(self._clock.now(), shipment.cancelled_at or self._clock.now())
        return _parse_update(
            [item for offset, item in _timeline(shipment) if _at(shipment, offset) <= until],
            carrier_shipment_id,
            pulled=True,
        )

    async def _shipment(self, books: Any, carrier_shipment_id: str) -> SandboxShipment:
        shipment = await books.scalar(
            select(SandboxShipment).where(
                SandboxShipment.carrier == self.name,
                SandboxShipment.carrier_shipment_id == carrier_shipment_id,
            )
        )
        if shipment is None:
            raise CarrierDeclined("unknown_shipment")
        return shipment

    # Signatures.

    def sign(self, body: str, *, now: datetime) -> dict[str, str]:
        """The headers that go with a callback sent at ``now``."""
        headers = self._signer.sign(body, now=now)
        if self._failure("callback") == "bad_signature":
            headers = {**headers, "sandbox-signature": "AAAA"}
        return headers

    def verify_callback(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> TrackingUpdate:
        try:
            self._signer.verify(headers=headers, body=body, now=now)
        except SignatureRefused as refused:
            raise InvalidCallback(refused.reason) from None
        try:
            data = json.loads(body)
            return _parse_update(data["items"], str(data["shipment"]))
        except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError):
            raise InvalidCallback("malformed") from None


def _at(shipment: SandboxShipment, offset: int) -> datetime:
    return shipment.booked_at + timedelta(seconds=offset)


def _timeline(shipment: SandboxShipment) -> list[tuple[int, dict[str, Any]]]:
    """Every scan and reading of the shipment, by its offset from the booking."""
    scans = SCANS["failed" if shipment.script == "failed" else "delivered"]
    items: list[tuple[int, dict[str, Any]]] = [
        (
            offset,
            {
                "event": _item_id(shipment, status),
                "status": status,
                "at": _at(shipment, offset).isoformat(),
                "location": "武汉",
            },
        )
        for offset, status in scans
    ]
    if shipment.cold_chain:
        last = scans[-1][0]
        offsets = range(scans[0][0], last + 1, READING_EVERY)
        middle = offsets[len(offsets) // 2]
        for number, offset in enumerate(offsets):
            celsius = Decimal("4.0") + Decimal(number % 5) / 2
            if offset == middle and shipment.excursion_celsius is not None:
                celsius = shipment.excursion_celsius
            items.append(
                (
                    offset,
                    {
                        "reading": _item_id(shipment, f"t{offset}"),
                        "celsius": str(celsius),
                        "at": _at(shipment, offset).isoformat(),
                    },
                )
            )
    return sorted(items, key=lambda pair: pair[0])


def _item_id(shipment: SandboxShipment, suffix: str) -> str:
    digest = hashlib.sha256(f"{shipment.carrier_shipment_id}:{suffix}".encode()).hexdigest()
    return "E" + digest[:24]


def _deliveries(shipment: SandboxShipment) -> list[Delivery]:
    """The callbacks of the shipment's script, each with its delay after the booking."""
    if shipment.script == "never":
        return []
    timeline = _timeline(shipment)
    end = timeline[-1][0] + 60
    planned: list[tuple[int, dict[str, Any]]] = []
    for offset, item in timeline:
        send = offset + SEND_AFTER
        if shipment.script == "late" and item.get("status") == "in_transit":
            send = end
        planned.append((send, item))
        if shipment.script == "twice":
            planned.append((send + 60, item))
    if shipment.script == "out_of_order":
        planned = [(end + number, item) for number, (_, item) in enumerate(reversed(timeline))]
    return [
        Delivery(
            send,
            json.dumps(
                {"shipment": shipment.carrier_shipment_id, "items": [item]},
                separators=(",", ":"),
                ensure_ascii=False,
            ),
        )
        for send, item in planned
    ]


def _parse_update(
    items: list[dict[str, Any]], carrier_shipment_id: str, *, pulled: bool = False
) -> TrackingUpdate:
    """A signed body is trusted, but still checked for shape: a carrier can have bugs."""
    events, readings = [], []
    for item in items:
        at = datetime.fromisoformat(item["at"])
        if at.tzinfo is None:
            raise ValueError("a time without zone")
        if "event" in item:
            if item["status"] not in TRACKING_STATUSES:
                raise ValueError("an unknown status")
            events.append(
                TrackingEvent(str(item["event"]), item["status"], at, str(item["location"]))
            )
        else:
            celsius = Decimal(item["celsius"])
            if not celsius.is_finite() or abs(celsius) >= 1000:
                raise ValueError("not a temperature")
            readings.append(TemperatureReading(str(item["reading"]), celsius, at))
    if not carrier_shipment_id or not (pulled or events or readings):
        raise ValueError("an empty callback")
    return TrackingUpdate(carrier_shipment_id, tuple(events), tuple(readings))
