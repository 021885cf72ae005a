"""The case of a prescription: every version of it (a revision after the pharmacist's rejection
is a new version, so the case of any version is the whole chain), each signature and whether it
still holds, each review decision, and what the pharmacy did with it: orders, dispensing,
shipments, returns, and their bills."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.identity.patient_cards import mask_name
from ihospital.pharmacy.models import OrderReturn, PharmacyOrder
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.repository import prescription_items
from ihospital.prescribing.verification import check_signature
from ihospital.supervision.traceability.kinds import (
    RECORD,
    CaseEvent,
    CaseKind,
    CaseSubject,
    register,
)
from ihospital.supervision.traceability.money import add_bill

PRESCRIPTION_CASE_MESSAGE = "Prescription"
ORDER_STEPS = (
    ("created_at", "pharmacy.order_created"),
    ("paid_at", "pharmacy.order_paid"),
    ("dispensed_at", "pharmacy.order_dispensed"),
    ("shipped_at", "pharmacy.order_shipped"),
    ("delivered_at", "pharmacy.order_delivered"),
    ("picked_up_at", "pharmacy.order_picked_up"),
    ("cancelled_at", "pharmacy.order_cancelled"),
    ("refunded_at", "pharmacy.order_refunded"),
)


async def version_chain(session: AsyncSession, prescription: Prescription) -> list[Prescription]:
    """Every version of the prescription, first to last, whichever version is given."""
    chain = [prescription]
    while chain[0].previous_version_id is not None:
        earlier = await session.get(Prescription, chain[0].previous_version_id)
        if earlier is None:
            break
        chain.insert(0, earlier)
    while True:
        later = await session.scalar(
            select(Prescription).where(Prescription.previous_version_id == chain[-1].id)
        )
        if later is None:
            return chain
        chain.append(later)


async def _version(session: AsyncSession, case: CaseSubject, prescription: Prescription) -> None:
    items = await prescription_items(session, prescription.id)
    check = await check_signature(session, prescription, items)
    subject = f"prescription:{prescription.id}"
    signed = {
        "prescription_id": prescription.id,
        "number": prescription.number,
        "previous_version_id": prescription.previous_version_id,
        "prescriber_id": prescription.prescriber_id,
        "drugs": [f"{item.drug_code} {item.drug_name}" for item in items],
        "content_sha256": prescription.content_sha256,
        "signature_valid": check.valid,
    }
    case.versions.append(
        {"subject": "prescription", "version": prescription.version, "status": prescription.status}
        | signed
    )
    action = "prescription.revised" if prescription.previous_version_id else "prescription.signed"
    case.events.append(
        CaseEvent(
            prescription.issued_at,
            RECORD,
            action,
            subject,
            version=prescription.version,
            details=signed,
        )
    )
    if prescription.reviewed_at is not None:
        decision = "rejected" if prescription.status == "rejected" else "approved"
        case.events.append(
            CaseEvent(
                prescription.reviewed_at,
                RECORD,
                f"prescription.review_{decision}",
                subject,
                actor_account_id=prescription.reviewed_by_account_id,
                version=prescription.version,
                details={
                    "rejection_codes": prescription.rejection_codes or [],
                    "note": prescription.review_note,
                },
            )
        )
    if prescription.filled_at is not None:
        case.events.append(
            CaseEvent(
                prescription.filled_at,
                RECORD,
                "prescription.filled",
                subject,
                version=prescription.version,
            )
        )


async def _orders(session: AsyncSession, case: CaseSubject, prescription_ids: list[int]) -> None:
    orders = await session.scalars(
        select(PharmacyOrder)
        .where(PharmacyOrder.prescription_id.in_(prescription_ids))
        .order_by(PharmacyOrder.created_at, PharmacyOrder.id)
    )
    for order in orders:
        subject = f"pharmacy_order:{order.id}"
        case.audit_subjects.setdefault("pharmacy_order", set()).add(order.id)
        for column, action in ORDER_STEPS:
            at = getattr(order, column)
            if at is None:
                continue
            details = {"number": order.number, "fulfilment": order.fulfilment}
            actor = order.account_id if column == "created_at" else None
            if column == "dispensed_at":
                actor = order.dispensed_by_account_id
            if column == "cancelled_at":
                details["cancel_reason"] = order.cancel_reason
            if column == "shipped_at":
                details["tracking_number"] = order.tracking_number
            case.events.append(
                CaseEvent(at, RECORD, action, subject, actor_account_id=actor, details=details)
            )
        if order.shipment_id is not None:
            await _shipment(session, case, order.shipment_id)
        await _return(session, case, order)
        await add_bill(session, case, order.billing_order_id)


async def _shipment(session: AsyncSession, case: CaseSubject, shipment_id: int) -> None:
    shipment = await session.get(Shipment, shipment_id)
    if shipment is None:
        return
    case.audit_subjects.setdefault("shipment", set()).add(shipment.id)
    case.alert_subjects.add(f"shipment:{shipment.id}")
    if shipment.excursion_decided_at is not None:
        case.events.append(
            CaseEvent(
                shipment.excursion_decided_at,
                RECORD,
                "pharmacy.excursion_decided",
                f"shipment:{shipment.id}",
                actor_account_id=shipment.excursion_decided_by_account_id,
                details={"excursion": shipment.excursion, "note": shipment.excursion_note},
            )
        )


async def _return(session: AsyncSession, case: CaseSubject, order: PharmacyOrder) -> None:
    returned = await session.scalar(select(OrderReturn).where(OrderReturn.order_id == order.id))
    if returned is None:
        return
    subject = f"pharmacy_order:{order.id}"
    case.events.append(
        CaseEvent(
            returned.received_at,
            RECORD,
            "pharmacy.return_received",
            subject,
            actor_account_id=returned.received_by_account_id,
        )
    )
    if returned.decided_at is not None:
        case.events.append(
            CaseEvent(
                returned.decided_at,
                RECORD,
                "pharmacy.return_decided",
                subject,
                actor_account_id=returned.decided_by_account_id,
                details={"decision": returned.decision, "reason": returned.reason},
            )
        )


async def read_prescription(session: AsyncSession, case_id: int) -> CaseSubject | None:
    """The case of prescription ``case_id``: the whole chain of its versions; None when there is
    no such prescription."""
    prescription = await session.get(Prescription, case_id)
    if prescription is None:
        return None
    chain = await version_chain(session, prescription)
    ids = [version.id for version in chain]
    case = CaseSubject(
        kind="prescription",
        case_id=prescription.id,
        reference=prescription.number,
        institution_id=prescription.institution_id,
        patient_id=prescription.patient_id,
        facts={
            "number": prescription.number,
            "status": chain[-1].status,
            "versions": len(chain),
            "patient": mask_name(prescription.patient_name),
            "consultation_id": prescription.consultation_id,
            "appointment_id": prescription.appointment_id,
        },
        events=[],
        audit_subjects={"prescription": set(ids)},
        alert_subjects={f"prescription:{version_id}" for version_id in ids},
        feed_subjects={"prescription": set(ids), "prescription_review": set(ids)},
    )
    for version in chain:
        await _version(session, case, version)
    await _orders(session, case, ids)
    return case


async def find_prescription(session: AsyncSession, reference: str) -> int | None:
    """The id of the prescription numbered ``reference``."""
    return await session.scalar(select(Prescription.id).where(Prescription.number == reference))


register(CaseKind("prescription", PRESCRIPTION_CASE_MESSAGE, read_prescription, find_prescription))
