"""The document a doctor signs for a prescription (R06).

Everything the prescription says, who wrote it and when, as a JSON-able mapping; its
:func:`~ihospital.security.signing.canonical_json` is what ``Prescription.signature`` signs and
``Prescription.content_sha256`` hashes. Writing (signing) and verification both build it here, so
a prescription edited after signing no longer matches its signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from ihospital.prescribing.models import Prescription, PrescriptionItem

ITEM_FIELDS = (
    "position",
    "drug_code",
    "drug_name",
    "dose_unit",
    "frequency",
    "route",
    "days",
    "quantity",
    "quantity_unit",
    "note",
    "override_reason",
    "origin",
)


def signed_content(prescription: Prescription, items: Sequence[PrescriptionItem]) -> dict[str, Any]:
    """The signed document of ``prescription`` with its ``items`` (in position order). Doses are
    written as normalised decimal strings so that the same dose always signs the same bytes."""
    return {
        "number": prescription.number,
        "version": prescription.version,
        "previous_version_id": prescription.previous_version_id,
        "institution_id": prescription.institution_id,
        "patient_id": prescription.patient_id,
        "consultation_id": prescription.consultation_id,
        "appointment_id": prescription.appointment_id,
        "prescriber_id": prescription.prescriber_id,
        "patient_name": prescription.patient_name,
        "patient_sex": prescription.patient_sex,
        "patient_age": prescription.patient_age,
        "diagnoses": [
            {"code": diagnosis["code"], "name": diagnosis["name"]}
            for diagnosis in prescription.diagnoses
        ],
        "emergency": prescription.emergency,
        "long_term": prescription.long_term,
        "supply_reason": prescription.supply_reason,
        "validity_days": prescription.validity_days,
        "validity_reason": prescription.validity_reason,
        "issued_at": prescription.issued_at.astimezone(UTC).isoformat(),
        "valid_until": prescription.valid_until.isoformat(),
        "items": [
            {
                **{field: getattr(item, field) for field in ITEM_FIELDS},
                "dose": format(item.dose.normalize(), "f"),
            }
            for item in sorted(items, key=lambda item: item.position)
        ],
    }
