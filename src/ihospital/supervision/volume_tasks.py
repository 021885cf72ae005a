"""Alert rules on volumes far above normal, run on the events that change them:

- R13.6: a doctor signed a prescription (``prescribing.prescription_signed``) and their count of
  prescriptions over the last ``days`` is at least ``min_count`` and above ``percent_of_median``
  per cent of the median count of their peers (the doctors of the same primary department at
  institutions of the same region, :mod:`ihospital.prescribing.volumes`); one alert per doctor
  and day;
- R19.1: a pharmacy order was paid (``pharmacy.order_paid``) and, for a drug of it, the 就诊人's
  quantity bought at the institution over the last ``days`` is at least ``min_quantity`` and
  above ``percent_of_median`` per cent of the median quantity of the other 就诊人 who bought it
  there (:mod:`ihospital.pharmacy.volumes`); one alert per 就诊人, drug and day.

Without peers to compare with, "normal" is unknown and the rules stay silent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.pharmacy.states import subscribe as on_pharmacy_order
from ihospital.pharmacy.volumes import order_drugs, purchase_volumes
from ihospital.prescribing.events import subscribe as on_prescription
from ihospital.prescribing.service import SIGNED
from ihospital.prescribing.volumes import peer_volumes
from ihospital.supervision.tasks import alert_event, thresholds_of

ORDER_PAID = "pharmacy.order_paid"


def far_above(own: int, others: list[int], *, percent_of_median: int, minimum: int) -> float | None:
    """The peers' median when ``own`` reaches ``minimum`` and exceeds ``percent_of_median`` per
    cent of it; None otherwise (also without peers)."""
    if own < minimum or not others:
        return None
    normal = median(others)
    return normal if own * 100 > normal * percent_of_median else None


def _against_peers(
    volumes: dict[int, int], own_id: int, limits: dict[str, int], minimum: str
) -> tuple[int, float | None, int]:
    """The own volume, the peers' median when the own is far above it (else None), and the
    number of peers."""
    own = volumes.pop(own_id, 0)
    normal = far_above(
        own,
        list(volumes.values()),
        percent_of_median=limits["percent_of_median"],
        minimum=limits[minimum],
    )
    return own, normal, len(volumes)


@on_prescription(SIGNED)
async def prescriptions_far_above_normal(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R13.6: the prescriber's prescriptions over ``days`` against their peers' median."""
    limits = await thresholds_of(session, "R13.6", payload)
    until = datetime.fromisoformat(payload["issued_at"])
    since = until - timedelta(days=limits["days"])
    doctor = payload["prescriber_id"]
    counts = await peer_volumes(
        session,
        prescriber_id=doctor,
        institution_id=payload["institution_id"],
        since=since,
        until=until + timedelta(microseconds=1),
    )
    own, normal, peers = _against_peers(counts, doctor, limits, "min_count")
    if normal is None:
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R13.6",
        subject=f"practitioner:{doctor}:{actor.clock.today_local().isoformat()}",
        about_patient=False,
        practitioner_id=doctor,
        count=own,
        peer_median=normal,
        peers=peers,
        days=limits["days"],
    )


@on_pharmacy_order(ORDER_PAID)
async def purchases_far_above_normal(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R19.1: for each drug of the paid order, the 就诊人's quantity over ``days`` against the
    median of the other buyers at the institution."""
    limits = await thresholds_of(session, "R19.1", payload)
    until = actor.clock.now()
    since = until - timedelta(days=limits["days"])
    patient = payload["patient_id"]
    for drug_id, drug_name in sorted((await order_drugs(session, payload["order_id"])).items()):
        quantities = await purchase_volumes(
            session,
            institution_id=payload["institution_id"],
            drug_id=drug_id,
            since=since,
            until=until + timedelta(microseconds=1),
        )
        own, normal, buyers = _against_peers(quantities, patient, limits, "min_quantity")
        if normal is None:
            continue
        await alert_event(
            session,
            actor,
            payload,
            rule_id="R19.1",
            subject=f"patient:{patient}:drug:{drug_id}:{actor.clock.today_local().isoformat()}",
            order_id=payload["order_id"],
            drug_id=drug_id,
            drug_name=drug_name,
            quantity=own,
            peer_median=normal,
            buyers=buyers,
            days=limits["days"],
        )
