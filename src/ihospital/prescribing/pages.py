"""The doctor's prescribing form, reached from the consultation workstation.

The doctor searches the drug catalogue, adds drugs to up to five rows, writes each item and
sees the findings of the checks: as they type (htmx posts the form to the check route and swaps
the findings and the reason fields the warnings ask for), or without JavaScript with the
"check" button. "Sign" checks again, signs and submits for the pharmacist's review; a refusal
shows its findings with the values kept and writes nothing (R06, R07, R10, R11, R16–R18).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.workstation import read_assigned
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.validation_messages import message_for
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import checkbox
from ihospital.errors import AppError
from ihospital.prescribing.catalogue import DrugFilters, search_drugs
from ihospital.prescribing.check_errors import ChecksFailed
from ihospital.prescribing.checks import FREQUENCIES, MAX_DRUGS, quantity_of
from ihospital.prescribing.consultation_prescriptions import (
    consultation_prescriptions,
    rejected_for_revision,
)
from ihospital.prescribing.models import Drug, Prescription, PrescriptionItem
from ihospital.prescribing.review_codes import reasons_by_code
from ihospital.prescribing.schemas import PrescriptionCreate, PrescriptionDraft, finding_read
from ihospital.prescribing.service import (
    check_prescription,
    revise_prescription,
    write_prescription,
)
from ihospital.prescribing.terms import ROUTES, route_label
from ihospital.prescribing.verification import STATUS_MESSAGES
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
ConsultationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
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
FLAGS = ("emergency", "long_term", "chronic")
SEARCH_LIMIT = 20
ROWS_FULL_MESSAGE = "A prescription has at most {limit} drugs."
SIGNED_MESSAGE = "Prescription {number} is signed and waits for the pharmacist's review."
REVISED_MESSAGE = "Prescription {number} replaces the rejected one and waits for review."


def _form_path(consultation_id: int) -> str:
    return f"/doctor/consultations/{consultation_id}/prescription"


async def _search(session: AsyncSession, actor: Actor, query: str) -> list[Drug]:
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
    consultation_id: int, values: dict[str, str], rows: list[dict[str, str]], flags: dict[str, bool]
) -> tuple[PrescriptionCreate | None, dict[str, str]]:
    """The API shape of the posted form, or the translated errors by form field name."""
    items = [
        {key: value for key, value in row.items() if value or key in ("drug_id", "dose", "days")}
        for row in rows
    ]
    data: dict[str, Any] = {
        "consultation_id": consultation_id,
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
    consultation: Any,
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
        results = await _search(session, actor, values["drug_q"])
    except AppError as error:  # a query the catalogue refuses: say so, keep the form
        results = []
        notices.append(translate(error.message, **error.fields))
    context = {
        "consultation": consultation,
        "values": values,
        "rows": rows,
        "flags": flags,
        "drugs": drugs,
        "frequencies": list(FREQUENCIES),
        "routes": [(code, route_label(code)) for code in ROUTES],
        "max_drugs": MAX_DRUGS,
        "form_path": _form_path(consultation.id),
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


async def consultation_prescriptions_context(
    session: AsyncSession, actor: Actor, consultation: Any
) -> dict[str, Any]:
    """What the consultation page shows of its prescriptions
    (``prescribing/_consultation_prescriptions.html``)."""
    return {
        "consultation_prescriptions": await consultation_prescriptions(
            session, actor, consultation=consultation
        ),
        "rx_status_messages": STATUS_MESSAGES,
        "rx_review_reasons": reasons_by_code(),
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
    consultation: Any,
    values: dict[str, str],
    body: PrescriptionCreate,
) -> Response:
    """Sign the form as a new prescription, or as the next version of the rejected one it
    revises; then back to the consultation."""
    cipher = request.app.state.cipher
    revise = _positive_id(values["revise"])
    if revise is None:
        prescription, _ = await write_prescription(session, actor, body=body, cipher=cipher)
        message = SIGNED_MESSAGE
    else:
        await rejected_for_revision(
            session, actor, consultation=consultation, prescription_id=revise
        )
        draft = PrescriptionDraft.model_validate(body.model_dump(exclude={"consultation_id"}))
        prescription, _ = await revise_prescription(
            session, actor, prescription_id=revise, body=draft, cipher=cipher
        )
        message = REVISED_MESSAGE
    response = RedirectResponse(f"/doctor/consultations/{consultation.id}", status_code=303)
    flash(request, response, message, number=prescription.number)
    return response


@router.get("/doctor/consultations/{consultation_id}/prescription")
async def prescription_form(
    consultation_id: ConsultationId,
    request: Request,
    session: DbSession,
    actor: Doctor,
    drug_q: Annotated[str, Query(max_length=50)] = "",
    revise: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The prescribing form of the doctor's consultation (any other is not found): empty, or
    with ``revise`` the rejected prescription's diagnoses and items to write its next version."""
    consultation = await read_assigned(session, actor, consultation_id=consultation_id)
    values = {name: "" for name in FORM_FIELDS} | {"drug_q": drug_q, "validity_days": "1"}
    flags = dict.fromkeys(FLAGS, False)
    rows: list[dict[str, str]] = []
    if revise is not None:
        rejected, items = await rejected_for_revision(
            session, actor, consultation=consultation, prescription_id=revise
        )
        values |= _revision_values(rejected)
        flags |= {"emergency": rejected.emergency, "long_term": rejected.long_term}
        rows = [_revision_row(item) for item in items]
    context = await _context(session, actor, consultation, values, rows, flags, reasons=set())
    return render(request, "prescribing/write.html", context)


@router.get("/doctor/prescribing/drugs")
async def drug_results(
    request: Request,
    session: DbSession,
    actor: Doctor,
    drug_q: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """The drug search results of the form (an htmx fragment)."""
    results = await _search(session, actor, drug_q)
    return render(request, "prescribing/write_drugs.html", {"results": results})


@router.post("/doctor/consultations/{consultation_id}/prescription/check", dependencies=CSRF)
async def live_check(
    consultation_id: ConsultationId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """The findings of the form as it stands and the reason fields they ask for (htmx)."""
    values, rows, flags = await _posted(request)
    body, errors = _body(consultation_id, values, rows, flags)
    context: dict[str, Any] = {"values": values, "rows": rows, "errors": errors, "rx_notices": []}
    context |= {"findings": [], "quantities": {}}
    if body is not None and body.items:
        try:
            context |= await _checked(session, actor, body)
        except AppError as error:
            context["rx_notices"] = [translate(error.message, **error.fields)]
    context["reasons"] = _reasons(context["findings"])
    return render(request, "prescribing/write_findings.html", context)


@router.post("/doctor/consultations/{consultation_id}/prescription", dependencies=CSRF)
async def prescription_submit(
    consultation_id: ConsultationId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Search, add or remove a drug, check, or sign: the same form, values kept."""
    consultation = await read_assigned(session, actor, consultation_id=consultation_id)
    values, rows, flags = await _posted(request)
    notices = _rows_after_edit(values, rows)
    action = values["action"]
    extra: dict[str, Any] = {"rx_notices": notices}
    status = 200
    if action in ("check", "sign") and rows:
        body, errors = _body(consultation_id, values, rows, flags)
        extra["errors"], status = errors, 422 if errors else 200
        if body is not None:
            try:
                async with session.begin_nested():  # a refusal writes nothing
                    if action == "sign":
                        return await _signed(request, session, actor, consultation, values, body)
                    extra |= await _checked(session, actor, body)
            except ChecksFailed as failed:
                extra["findings"] = [finding_read(f, failed.drugs) for f in failed.findings]
                status = 422
            except AppError as error:
                extra["rx_notices"] = [*notices, translate(error.message, **error.fields)]
                status = error.status
    extra["reasons"] = _reasons(extra.get("findings", []))
    context = await _context(session, actor, consultation, values, rows, flags, **extra)
    return render(request, "prescribing/write.html", context, status_code=status)
