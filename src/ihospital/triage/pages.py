"""The symptom box (智能导诊) for anyone: describe, get departments and doctors with one-tap
booking and online consultation, the emergency block first when there is a red flag.

The form posts (a description is health data: it stays out of addresses and logs) and works
without JavaScript; ``static/js/triage.js`` only adds suggestions while typing. In 长辈模式 the
page leads with large buttons of common complaints, each a one-tap description.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ihospital.core.context import Actor
from ihospital.core.i18n import current_language
from ihospital.deps import DbSession, check_csrf, optional_actor
from ihospital.directory.pages_support import form_text
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.triage import service
from ihospital.triage.api import admit_triage
from ihospital.triage.knowledge import load_knowledge
from ihospital.triage.schemas import MAX_TEXT_LENGTH, TriageAsk, TriageRead
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

Anyone = Annotated[Actor, Depends(optional_actor)]

FIELDS = ("text", "age", "sex")


def _page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    result: TriageRead | None = None,
    state: FormState | None = None,
) -> Response:
    state = state or FormState()
    language = current_language.get()
    complaints = [en if language == "en" else zh for zh, en in load_knowledge().common_complaints]
    context: dict[str, Any] = {
        "values": values or {},
        "result": result,
        "complaints": complaints,
        "max_length": MAX_TEXT_LENGTH,
        **state.context(),
    }
    return render(request, "triage/triage.html", context, status_code=state.status_code)


@router.get("/triage")
async def triage_page(request: Request, actor: Anyone) -> Response:
    """Anyone: the symptom box."""
    return _page(request)


@router.post("/triage", dependencies=[Depends(check_csrf)])
async def triage_submit(request: Request, session: DbSession, actor: Anyone) -> Response:
    """Anyone: the departments, doctors and red flags for the description posted."""
    values = await form_text(request, FIELDS)
    body, state = parse_form(TriageAsk, {key: value for key, value in values.items() if value})
    if body is None:
        return _page(request, values=values, state=state)
    try:
        await admit_triage(
            request, purpose="ask", limit=request.app.state.settings.triage_rate_per_ip
        )
        answer = await service.triage(session, actor, **body.model_dump())
    except AppError as error:
        return _page(request, values=values, state=refused(error, fields=FIELDS))
    return _page(request, values=values, result=TriageRead.of(answer))
