"""API shapes of returned parcels: the pharmacist's decision and a return as it stands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ihospital.core.schemas import Schema
from ihospital.directory.validation import plain_text
from ihospital.pharmacy.returns import MAX_REASON, ReturnView


class ReturnDecision(Schema):
    """Restock the returned drugs, or destroy them with the reason (报损)."""

    decision: Literal["restock", "destroy"]
    reason: Annotated[str, Field(max_length=MAX_REASON), AfterValidator(plain_text)] = ""


class OrderReturnRead(Schema):
    """A delivery order whose parcel comes back: received (or not yet) and what became of it."""

    order_id: int
    number: str
    pharmacy_id: int
    cancel_reason: str | None
    cold_chain: bool
    received_at: datetime | None
    decision: str | None
    reason: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, view: ReturnView) -> OrderReturnRead:
        order, received = view.order, view.received
        return cls(
            order_id=order.id,
            number=order.number,
            pharmacy_id=order.pharmacy_id,
            cancel_reason=order.cancel_reason,
            cold_chain=order.cold_chain,
            received_at=received.received_at if received else None,
            decision=received.decision if received else None,
            reason=received.reason if received else None,
            decided_at=received.decided_at if received else None,
        )
