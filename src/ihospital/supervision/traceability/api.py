"""JSON routes of case timelines: the timeline of a consultation or prescription, and its case
file as PDF or JSON (regulators of its region, admins of its institution, platform admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission
from ihospital.supervision.traceability.pdf import case_file_pdf
from ihospital.supervision.traceability.schemas import CaseFileRead
from ihospital.supervision.traceability.service import open_case

router = APIRouter(prefix="/api/regulator/cases", tags=["supervision"])
Tracer = Annotated[Actor, Depends(require(Permission.CASES_TRACE))]
Kind = Annotated[str, Path(max_length=32)]
CaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def _download(
    session: AsyncSession, actor: Actor, kind: str, case_id: int, *, extension: str
) -> Response:
    """The case file as an attachment (``pdf`` or ``json``), never cached."""
    case = CaseFileRead.of(
        await open_case(session, actor, kind=kind, case_id=case_id, delivered_as=extension)
    )
    if extension == "pdf":
        content, media_type = case_file_pdf(case), "application/pdf"
    else:
        content, media_type = case.model_dump_json(indent=2).encode(), "application/json"
    name = f"case-{case.kind}-{case.case_id}.{extension}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(content, media_type=media_type, headers=headers)


@router.get("/{kind}/{case_id}", response_model=CaseFileRead)
async def case_timeline(
    kind: Kind, case_id: CaseId, session: DbSession, actor: Tracer
) -> CaseFileRead:
    """The timeline of the case: who did what when, every version, the audit entries it relies
    on and whether the audit chain verifies (404 for a case outside the reader's scope)."""
    return CaseFileRead.of(await open_case(session, actor, kind=kind, case_id=case_id))


@router.get(
    "/{kind}/{case_id}/case-file.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The case file"}},
)
async def case_file_json(
    kind: Kind, case_id: CaseId, session: DbSession, actor: Tracer
) -> Response:
    """The case file as a JSON download (the timeline's document)."""
    return await _download(session, actor, kind, case_id, extension="json")


@router.get(
    "/{kind}/{case_id}/case-file.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The case file"}},
)
async def case_file_pdf_download(
    kind: Kind, case_id: CaseId, session: DbSession, actor: Tracer
) -> Response:
    """The case file as PDF, in the reader's language."""
    return await _download(session, actor, kind, case_id, extension="pdf")
