"""Pages of case timelines: a lookup form (kind and id or number) and the timeline of a
consultation or prescription with links to its case file as PDF and JSON (no JavaScript)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.errors import NotFound
from ihospital.prescribing.verification import STATUS_MESSAGES as PRESCRIPTION_STATUS_MESSAGES
from ihospital.security.permissions import Permission
from ihospital.supervision.traceability.kinds import KINDS
from ihospital.supervision.traceability.labels import CASE_SOURCE_MESSAGES, chain_reason
from ihospital.supervision.traceability.schemas import CaseFileRead
from ihospital.supervision.traceability.service import find_case, open_case
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/regulator/cases"
Tracer = Annotated[Actor, Depends(require(Permission.CASES_TRACE))]
Kind = Annotated[str, Path(max_length=32)]
CaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(PAGE)
async def lookup_page(
    request: Request,
    session: DbSession,
    actor: Tracer,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    reference: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The lookup form; with a kind and an id or number, the case's timeline (a reference that
    names nothing is shown next to the form, 404)."""
    error = None
    if kind and reference and reference.strip():
        try:
            case_id = await find_case(session, kind=kind, reference=reference)
        except NotFound as refused:
            error = refused
        else:
            return RedirectResponse(f"{PAGE}/{kind}/{case_id}", status_code=303)
    context = {
        "kinds": [(name, KINDS[name].title) for name in sorted(KINDS)],
        "kind": kind,
        "reference": reference or "",
        "error": error,
    }
    return render(request, "supervision/cases.html", context, status_code=404 if error else 200)


@router.get(PAGE + "/{kind}/{case_id}")
async def case_page(
    kind: Kind, case_id: CaseId, request: Request, session: DbSession, actor: Tracer
) -> Response:
    """The timeline of a consultation or prescription: who did what when, every version, and
    whether the audit chain verifies."""
    case = CaseFileRead.of(
        await open_case(session, actor, kind=kind, case_id=case_id, delivered_as="page")
    )
    context = {
        "case": case,
        "sources": CASE_SOURCE_MESSAGES,
        "reason": chain_reason(case.audit_chain.reason),
        "prescription_statuses": PRESCRIPTION_STATUS_MESSAGES,
    }
    return render(request, "supervision/case.html", context)
