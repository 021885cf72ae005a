"""The medical record (电子病历) as the consultation pages show it: for the doctor, the form to
write and sign it (or amend the signed version) with the ICD-10 search, and its versions; for
the patient, the signed record, read only. Reads go through the records services, which audit
them (R13); a health consultation has no record (R01), so nothing is read for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.events import is_diagnostic
from ihospital.consultation.models import Consultation
from ihospital.consultation.records.diagnoses import MAX_DIAGNOSES, diagnosis_names
from ihospital.consultation.records.models import Icd10Code
from ihospital.consultation.records.reading import RecordView, doctor_records, patient_records
from ihospital.consultation.records.service import TEXT_LIMITS
from ihospital.core.context import Actor

TEXT_FIELDS = tuple(TEXT_LIMITS)


@dataclass
class RecordForm:
    """What the doctor typed, the diagnoses chosen, search results, and errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)
    results: list[Icd10Code] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _values_of(view: RecordView) -> dict[str, str]:
    return {name: getattr(view.record, name) for name in TEXT_FIELDS}


async def doctor_record_context(
    session: AsyncSession, actor: Actor, consultation: Consultation, form: RecordForm | None
) -> dict[str, Any]:
    """The ``record`` of the doctor's consultation page: this consultation's versions (newest
    first) and the form, filled from the latest version to amend it, else from the complaint."""
    if not is_diagnostic(consultation) or consultation.status not in ("in_progress", "closed"):
        return {"record": None}
    views = await doctor_records(session, actor, consultation_id=consultation.id)
    versions = [view for view in views if view.record.consultation_id == consultation.id]
    latest = versions[0] if versions else None
    if form is None:
        if latest is not None:
            form = RecordForm(_values_of(latest), [d.code for d in latest.diagnoses])
        else:
            form = RecordForm({"chief_complaint": consultation.complaint})
    chosen = await diagnosis_names(session, form.codes)
    return {
        "record": {
            "versions": versions,
            "latest": latest,
            "form": form,
            "chosen": chosen,
            "limits": TEXT_LIMITS,
            "max_diagnoses": MAX_DIAGNOSES,
            "writable": latest is not None or consultation.status == "in_progress",
        }
    }


async def patient_record_context(
    session: AsyncSession, actor: Actor, consultation: Consultation
) -> dict[str, Any]:
    """The ``record`` of the patient's consultation page: the latest signed version and the
    versions before it (the read is audited)."""
    if not is_diagnostic(consultation) or consultation.status not in ("in_progress", "closed"):
        return {"record": None}
    versions = await patient_records(session, actor, consultation_id=consultation.id)
    if not versions:
        return {"record": None}
    return {"record": {"latest": versions[-1], "versions": versions[::-1]}}
