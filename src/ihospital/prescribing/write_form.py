"""The doctor's prescribing form, shared by a consultation's and an in-person visit's pages
(:mod:`ihospital.prescribing.pages`, :mod:`ihospital.prescribing.visit_pages`).

The doctor searches the drug catalogue, adds drugs to up to five rows, writes each item and
sees the findings of the checks: as they type (htmx posts the form to the check route and swaps
the findings and the reason fields the warnings ask for), or without JavaScript with the
"check" button. "Sign" checks again, signs and submits for the pharmacist's review; a refusal
shows its findings with the values kept and writes nothing (R06, R07, R10, R11, R16–R18).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.validation_messages import message_for
from ihospital.directory.pages_support import checkbox
from ihospital.errors import AppError
from ihospital.prescribing.catalogue import DrugFilters, search_drugs
from ihospital.prescribing.check_errors import ChecksFailed
from ihospital.prescribing.checks import FREQUENCIES, MAX_DRUGS, quantity_of
from ihospital.prescribing.consultation_prescriptions import rejected_for_revision
from ihospital.prescribing.encounters import VISIT, Encounter
from ihospital.prescribing.models import Drug, Prescription, PrescriptionItem
from ihospital.prescribing.schemas import PrescriptionCreate, PrescriptionDraft, finding_read
from ihospital.prescribing.service import (
    check_prescription,
    revise_prescription,
    write_prescription,
)
from ihospital.prescribing.terms import ROUTES, route_label
from ihospital.web.flash import flash
from ihospital.web.templating import render

ITEM_FIELDS = (
    "drug_id",
    "dose",
    "dose_unit",
    "frequency",
    "route",
    "days",
    "quantity",
    "note",
    "override_reason",
)
FORM_FIELDS = (
    "diagnoses",
    "supply_reason",
    "validity_days",
    "validity_reason",
    "drug_q",
    "action",
    "add_drug",
    "remove",
    "revise",
)
FLAGS = ("emergency", "long_term", "chronic", "guardian_present")
SEARCH_LIMIT = 20
ROWS_FULL_MESSAGE = "A prescription has at most {limit} drugs."
SIGNED_MESSAGE = "Prescription {number} is signed and waits for the pharmacist's review."
REVISED_MESSAGE = "Prescription {number} replaces the rejected one and waits for review."


@dataclass(frozen=True)
class FormSubject:
    """What the form prescribes for: the encounter, the form's address, the page it goes back
    to, and for a consultation its confirmed earlier diagnosis."""

    encounter: Encounter
    form_path: str
    back_path: str
    back_label: str
    prior_diagnosis: str | None = None

    @property
    def asks_guardian(self) -> bool:
        """In person, the doctor confirms on the form that a child's guardian is there (R11)."""
        return self.encounter.kind == VISIT and self.encounter.guardian_required


async def search_results(session: AsyncSession, actor: Actor, query: str) -> list[Drug]:
    """The first active drugs of the catalogue search for ``query`` (none for an empty one)."""
    if not query.strip():
        return []
    filters = DrugFilters(q=query)
    return (await search_drugs(session, actor, filters=filters, page_size=SEARCH_LIMIT)).items


async def _drugs_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Drug]:
    if not ids:
        return {}
    return {drug.id: drug for drug in await session.scalars(select(Drug).where(Drug.id.in_(ids)))}


def _positive_id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 2**63 else None


async def _posted(request: Request) -> tuple[dict[str, str], list[dict[str, str]], dict[str, bool]]:
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS}
    rows = [
        {name: str(form.get(f"items-{row}-{name}", "")).strip() for name in ITEM_FIELDS}
        for row in range(1, MAX_DRUGS + 1)
    ]
    flags = {name: checkbox(form.get(name)) for name in FLAGS}
    return values, [row for row in rows if row["drug_id"]], flags


def _body(
    encounter: dict[str, int],
    values: dict[str, str],
    rows: list[dict[str, str]],
    flags: dict[str, bool],
) -> tuple[PrescriptionCreate | None, dict[str, str]]:
    """The API shape of the posted form for ``encounter`` (``{"consultation_id": …}`` or
    ``{"appointment_id": …}``), or the translated errors by form field name."""
    items = [
        {key: value for key, value in row.items() if value or key in ("drug_id", "dose", "days")}
        for row in rows
    ]
    data: dict[str, Any] = {
        **encounter,
        "diagnoses": [code for code in values["diagnoses"].replace("，", ",").split(",") if code],
        "items": items,
        "supply_reason": values["supply_reason"],
        "validity_days": values["validity_days"] or "1",
        "validity_reason": values["validity_reason"],
        **flags,
    }
    try:
        return PrescriptionCreate.model_validate(data), {}
    except ValidationError as error:
        errors: dict[str, str] = {}
        for item in error.errors():
            location = [str(part) for part in item.get("loc", ())]
            if location[:1] == ["items"] and len(location) >= 3 and location[1].isdigit():
                name = f"items-{int(location[1]) + 1}-{location[2]}"
            else:
                name = location[0] if location else ""
            message, fields = message_for(dict(item))
            errors.setdefault(name, translate(message, **fields))
        return None, errors


def _rows_after_edit(values: dict[str, str], rows: list[dict[str, str]]) -> list[str]:
    """Apply the form's "add" or "remove" button to the rows; the notices it leaves."""
    notices = []
    removed = _positive_id(values["remove"])
    if removed is not None and removed <= len(rows):
        del rows[removed - 1]
    added = _positive_id(values["add_drug"])
    if added is not None:
        if len(rows) >= MAX_DRUGS:
            notices.append(translate(ROWS_FULL_MESSAGE, limit=MAX_DRUGS))
        else:
            rows.append({name: "" for name in ITEM_FIELDS} | {"drug_id": str(added)})
    return notices


async def _context(
    session: AsyncSession,
    actor: Actor,
    subject: FormSubject,
    values: dict[str, str],
    rows: list[dict[str, str]],
    flags: dict[str, bool],
    **extra: Any,
) -> dict[str, Any]:
    ids = {found for row in rows if (found := _positive_id(row["drug_id"])) is not None}
    drugs = await _drugs_by_id(session, ids)
    for row in rows:
        drug = drugs.get(_positive_id(row["drug_id"]) or 0)
        if drug is not None and not row["dose_unit"]:
            row.update(dose_unit=drug.strength_unit, route=row["route"] or drug.default_route)
    notices = list(extra.pop("rx_notices", []))
    try:
        results = await search_results(session, actor, values["drug_q"])
    except AppError as error:  # a query the catalogue refuses: say so, keep the form
        results = []
        notices.append(translate(error.message, **error.fields))
    context = {
        "subject": subject,
        "encounter": subject.encounter,
        "values": values,
        "rows": rows,
        "flags": flags,
        "drugs": drugs,
        "frequencies": list(FREQUENCIES),
        "routes": [(code, route_label(code)) for code in ROUTES],
        "max_drugs": MAX_DRUGS,
        "form_path": subject.form_path,
        "results": results,
        "findings": [],
        "quantities": {},
        "errors": {},
        "rx_notices": notices,
    }
    return context | extra


def _reasons(findings: list[Any]) -> set[str]:
    return {f.reason_field for f in findings if f.reason_field}


async def _checked(session: AsyncSession, actor: Actor, body: PrescriptionCreate) -> dict[str, Any]:
    checked = await check_prescription(session, actor, body=body)
    return {
        "findings": [finding_read(f, checked.drugs) for f in checked.findings],
        "quantities": {
            position: quantity_of(item)
            for position, item in enumerate(checked.draft.items, start=1)
        },
    }


def _revision_values(rejected: Prescription) -> dict[str, str]:
    return {
        "diagnoses": ",".join(diagnosis["code"] for diagnosis in rejected.diagnoses),
        "supply_reason": rejected.supply_reason or "",
        "validity_days": str(rejected.validity_days),
        "validity_reason": rejected.validity_reason or "",
        "revise": str(rejected.id),
    }


def _revision_row(item: PrescriptionItem) -> dict[str, str]:
    values = {name: getattr(item, name) for name in ITEM_FIELDS if name != "dose"}
    row = {name: "" if value is None else str(value) for name, value in values.items()}
    return row | {"dose": str(item.dose.normalize())}


async def _signed(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    subject: FormSubject,
    values: dict[str, str],
    body: PrescriptionCreate,
) -> Response:
    """Sign the form as a new prescription, or as the next version of the rejected one it
    revises; then back to the consultation or the day list."""
    cipher = request.app.state.cipher
    revise = _positive_id(values["revise"])
    if revise is None:
        prescription, _ = await write_prescription(session, actor, body=body, cipher=cipher)
        message = SIGNED_MESSAGE
    else:
        await rejected_for_revision(
            session, actor, encounter=subject.encounter, prescription_id=revise
        )
        draft = PrescriptionDraft.model_validate(
            body.model_dump(exclude={"consultation_id", "appointment_id"})
        )
        prescription, _ = await revise_prescription(
            session, actor, prescription_id=revise, body=draft, cipher=cipher
        )
        message = REVISED_MESSAGE
    response = RedirectResponse(subject.back_path, status_code=303)
    flash(request, response, message, number=prescription.number)
    return response


async def form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    subject: FormSubject,
    *,
    drug_q: str,
    revise: int | None,
) -> Response:
    """The prescribing form of ``subject``: empty, or with ``revise`` the rejected
    prescription's diagnoses and items to write its next version."""
    values = {name: "" for name in FORM_FIELDS} | {"drug_q": drug_q, "validity_days": "1"}
    flags = dict.fromkeys(FLAGS, False)
    rows: list[dict[str, str]] = []
    if revise is not None:
        rejected, items = await rejected_for_revision(
            session, actor, encounter=subject.encounter, prescription_id=revise
        )
        values |= _revision_values(rejected)
        flags |= {"emergency": rejected.emergency, "long_term": rejected.long_term}
        rows = [_revision_row(item) for item in items]
    context = await _context(session, actor, subject, values, rows, flags, reasons=set())
    return render(request, "prescribing/write.html", context)


async def live_check_fragment(
    request: Request, session: AsyncSession, actor: Actor, encounter: dict[str, int]
) -> Response:
    """The findings of the posted form for ``encounter`` and the reason fields they ask for."""
    values, rows, flags = await _posted(request)
    body, errors = _body(encounter, values, rows, flags)
    context: dict[str, Any] = {"values": values, "rows": rows, "errors": errors, "rx_notices": []}
    context |= {"findings": [], "quantities": {}}
    if body is not None and body.items:
        try:
            context |= await _checked(session, actor, body)
        except AppError as error:
            context["rx_notices"] = [translate(error.message, **error.fields)]
    context["reasons"] = _reasons(context["findings"])
    return render(request, "prescribing/write_findings.html", context)


async def submitted_form(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    subject: FormSubject,
    encounter: dict[str, int],
) -> Response:
    """Search, add or remove a drug, check, or sign the posted form of ``subject``: the same
    form, values kept, or after signing back to where it came from."""
    values, rows, flags = await _posted(request)
    notices = _rows_after_edit(values, rows)
    action = values["action"]
    extra: dict[str, Any] = {"rx_notices": notices}
    status = 200
    if action in ("check", "sign") and rows:
        body, errors = _body(encounter, values, rows, flags)
        extra["errors"], status = errors, 422 if errors else 200
        if body is not None:
            try:
                async with session.begin_nested():  # a refusal writes nothing
                    if action == "sign":
                        return await _signed(request, session, actor, subject, values, body)
                    extra |= await _checked(session, actor, body)
            except ChecksFailed as failed:
                extra["findings"] = [finding_read(f, failed.drugs) for f in failed.findings]
                status = 422
            except AppError as error:
                extra["rx_notices"] = [*notices, translate(error.message, **error.fields)]
                status = error.status
    extra["reasons"] = _reasons(extra.get("findings", []))
    context = await _context(session, actor, subject, values, rows, flags, **extra)
    return render(request, "prescribing/write.html", context, status_code=status)
