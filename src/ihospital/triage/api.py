"""JSON routes of smart triage (智能导诊), public and rate limited per client IP.

The issue asks for ``POST /api/v1/triage`` and it is served at that path, although the other
routes of the app are under ``/api`` without a version.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from ihospital.core.context import Actor
from ihospital.core.i18n import current_language
from ihospital.core.ratelimit import admit
from ihospital.core.schemas import Schema
from ihospital.deps import DbSession, client_ip, optional_actor
from ihospital.triage import service
from ihospital.triage.knowledge import load_knowledge
from ihospital.triage.schemas import TriageAsk, TriageRead
from ihospital.triage.suggestions import suggest

router = APIRouter(prefix="/api/v1/triage", tags=["triage"])
TOO_MANY_TRIAGES_MESSAGE = "Too many triage requests. Try again in {retry_after} seconds."

Typed = Annotated[str, Query(min_length=1, max_length=20)]


async def admit_triage(request: Request, *, purpose: str, limit: int) -> None:
    """Refuse past the client IP's rate for ``purpose`` (the engine is cheap, but a public
    endpoint must not be an open CPU for anyone's scripts)."""
    await admit(
        request.app.state.rate_limiter,
        f"triage:{purpose}:ip:{client_ip(request)}",
        limit=limit,
        window_seconds=request.app.state.settings.triage_rate_window_seconds,
        code="triage.too_many_requests",
        message=TOO_MANY_TRIAGES_MESSAGE,
    )


class TriageSuggestionRead(Schema):
    text: str
    term: str
    symptom: str


@router.post("", responses={429: {}})
async def triage_symptoms(
    body: TriageAsk,
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(optional_actor)],
) -> TriageRead:
    """Anyone (signed in or not): departments for symptoms described in everyday Chinese or
    English, best first, with the symptoms that matched; red flags with an emergency instruction
    first; doctors of those departments with free places or online consultation. Nothing of the
    description is stored."""
    await admit_triage(request, purpose="ask", limit=request.app.state.settings.triage_rate_per_ip)
    answer = await service.triage(session, actor, **body.model_dump())
    return TriageRead.of(answer)


@router.get("/suggestions", responses={429: {}})
async def triage_suggestions(request: Request, q: Typed) -> list[TriageSuggestionRead]:
    """Anyone: symptom words beginning with (then containing) ``q``, for the symptom box."""
    settings = request.app.state.settings
    await admit_triage(request, purpose="suggest", limit=settings.triage_suggestion_rate_per_ip)
    found = suggest(load_knowledge(), q, current_language.get())
    return [TriageSuggestionRead(text=s.text, term=s.term, symptom=s.symptom) for s in found]
