"""Names of the events of a case timeline, as people read them (an action without a name is
shown by its code, which the audit trail also uses)."""

from __future__ import annotations

from ihospital.core.i18n import gettext
from ihospital.supervision.traceability.kinds import CaseEvent

CASE_EVENT_MESSAGES = {
    "consultation.started": "Consultation started",
    "consultation.paid": "Consultation paid",
    "consultation.accepted": "Consultation accepted by the doctor",
    "consultation.prior_confirmed": "Earlier diagnosis confirmed (follow-up visit)",
    "consultation.guardian_confirmed": "Guardian confirmed",
    "consultation.ended": "Consultation ended",
    "consultation.rated": "Consultation rated by the patient",
    "consultation.messages": "Messages exchanged",
    "consultation.call_started": "Video call started",
    "consultation.call_ended": "Video call ended",
    "medical_record.signed": "Medical record signed",
    "medical_record.amended": "Medical record amended (new version)",
    "prescription.signed": "Prescription signed",
    "prescription.revised": "Prescription revised after rejection (new version)",
    "prescription.review_approved": "Pharmacist approved the prescription",
    "prescription.review_rejected": "Pharmacist rejected the prescription",
    "prescription.filled": "Prescription filled",
    "pharmacy.order_created": "Drug order placed",
    "pharmacy.order_paid": "Drug order paid",
    "pharmacy.order_dispensed": "Drugs dispensed",
    "pharmacy.order_shipped": "Drugs shipped",
    "pharmacy.order_delivered": "Drugs delivered",
    "pharmacy.order_picked_up": "Drugs picked up",
    "pharmacy.order_cancelled": "Drug order cancelled",
    "pharmacy.order_refunded": "Drug order refunded",
    "pharmacy.excursion_decided": "Cold-chain excursion decided",
    "pharmacy.return_received": "Returned parcel received",
    "pharmacy.return_decided": "Returned drugs restocked or destroyed",
    "billing.order_created": "Bill issued",
    "billing.payment_succeeded": "Payment received",
    "billing.refund_pending": "Refund requested",
    "billing.refund_succeeded": "Refund completed",
    "billing.refund_failed": "Refund failed",
    "supervision.alert_opened": "Supervision alert raised",
    "supervision.alert_acknowledged": "Supervision alert acknowledged",
    "supervision.alert_resolved": "Supervision alert resolved",
    "reporting.record_queued": "Record queued for the provincial platform",
    "reporting.record_delivered": "Record delivered to the provincial platform",
    "reporting.record_rejected": "Record rejected by the provincial platform",
    "prescribing.prescription_signed": "Prescription signed",
    "prescribing.prescription_rejected": "Pharmacist rejected the prescription",
    "prescribing.prescription_approved": "Pharmacist approved the prescription",
    "prescribing.prescription_voided": "Prescription voided",
    "supervision.case_read": "Case timeline read",
    "supervision.case_exported": "Case file exported",
}
CASE_SOURCE_MESSAGES = {"record": "Domain record", "audit": "Audit entry"}
# what :func:`ihospital.audit.chain.verify_chain` says of a broken link
CHAIN_REASON_MESSAGES = {
    "missing link (seal deleted)": "a link is missing (its seal was deleted)",
    "chain broken (reordered or replaced)": "the chain is broken (links reordered or replaced)",
    "missing entry (deleted)": "the entry is missing (deleted)",
    "content changed (edited)": "the entry's content was changed (edited)",
}


def event_label(event: CaseEvent) -> str:
    """The event's name in the reader's language, or its code when it has none."""
    message = CASE_EVENT_MESSAGES.get(event.action)
    return gettext(message) if message else event.action


def chain_reason(reason: str) -> str:
    """Why the chain does not verify, in the reader's language (as the chain says it when the
    reason has no name)."""
    message = CHAIN_REASON_MESSAGES.get(reason)
    return gettext(message) if message else reason
