"""Pages of epidemic pre-screening: the patient's questionnaire (/prescreening) and its outcome
with the nearest fever clinics, and the command centre's board (/command-centre), live over
/ws/command-centre when JavaScript runs and complete without it. Plain forms throughout."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from ihospital.core.context import Actor
from ihospital.core.i18n import gettext
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.models import Institution
from ihospital.directory.pages_support import form_text
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.patients import list_patients
from ihospital.security.permissions import Permission
from ihospital.triage.prescreening import alerts, questionnaires, screening
from ihospital.triage.prescreening.definition import Definition, Level
from ihospital.triage.prescreening.models import ALERT_STATUSES
from ihospital.triage.prescreening.schemas import EpidemicAlertHandle, SubmissionCreate
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Patient = Annotated[Actor, Depends(require(Permission.PRESCREENING_OWN))]
Reader = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]
Command = Annotated[Actor, Depends(require(Permission.EPIDEMIC_COMMAND))]
LEVEL_MESSAGES = {"low": "Low risk", "medium": "Medium risk", "high": "High risk"}
STATUS_MESSAGES = {"new": "New", "contacted": "Contacted", "closed": "Closed"}
HANDLED_MESSAGE = "Alert {alert_id} is now: {status}."


async def _regions(session: AsyncSession) -> list[tuple[str, str]]:
    """The regions of the platform's institutions, for the patient to say where they are."""
    rows = await session.execute(
        select(Institution.region_code, Institution.region_name)
        .distinct()
        .order_by(Institution.region_code)
    )
    return [(code, f"{name} ({code})") for code, name in rows]


def _answers(definition: Definition, form: FormData) -> dict[str, Any]:
    """The answers as the API takes them, from the form's radios, boxes and fields."""
    answers: dict[str, Any] = {}
    for question in definition.questions:
        name = f"q-{question.id}"
        if question.kind == "multiple":
            answers[question.id] = [str(value) for value in form.getlist(name)]
        elif (value := str(form.get(name) or "").strip()) == "":
            continue
        elif question.kind == "yes_no":
            answers[question.id] = {"yes": True, "no": False}.get(value, value)
        else:
            answers[question.id] = value
    return answers


async def _form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    questionnaire = await questionnaires.published(session)
    context = {
        "questionnaire": questionnaire,
        "definition": questionnaires.definition_of(questionnaire),
        "patients": [(str(p.id), p.name) for p in await list_patients(session, actor)],
        "regions": await _regions(session),
        "values": values,
        **state.context(),
    }
    return render(request, "triage/prescreening.html", context, status_code=state.status_code)


@router.get("/prescreening")
async def questionnaire_page(request: Request, session: DbSession, actor: Patient) -> Response:
    """The published questionnaire for one of the account's 就诊人."""
    return await _form_page(request, session, actor, {}, FormState())


@router.post("/prescreening", dependencies=CSRF)
async def questionnaire_submit(request: Request, session: DbSession, actor: Patient) -> Response:
    """Answer for one 就诊人; a refusal is shown next to its question."""
    form = await request.form()
    questionnaire = await questionnaires.published(session)
    definition = questionnaires.definition_of(questionnaire)
    values = {key: form.getlist(key) if key.startswith("q-") else form.get(key) for key in form}
    posted = {
        "questionnaire_id": form.get("questionnaire_id") or questionnaire.id,
        "patient_id": form.get("patient_id"),
        "region_code": form.get("region_code"),
        "answers": _answers(definition, form),
    }
    parsed, state = parse_form(SubmissionCreate, posted)
    if parsed is not None:
        try:
            outcome = await screening.submit(session, actor, **parsed.model_dump())
        except AppError as error:
            if error.status == 404 and error.code != "prescreening.questionnaire_not_found":
                raise
            fields = (
                "patient_id",
                "region_code",
                *(f"answers.{q.id}" for q in definition.questions),
            )
            state = refused(error, fields=fields)
        else:
            return RedirectResponse(f"/prescreening/{outcome.submission.id}", status_code=303)
    return await _form_page(request, session, actor, values, state)


def _level(definition: Definition, name: str) -> Level:
    return next(level for level in definition.levels if level.level == name)


@router.get("/prescreening/{submission_id}")
async def outcome_page(
    submission_id: Id, request: Request, session: DbSession, actor: Reader
) -> Response:
    """A submission's level, instruction, answers and the nearest fever clinics (audited)."""
    submission = await screening.read_submission(session, actor, submission_id=submission_id)
    questionnaire = await questionnaires.version(session, submission.questionnaire_id)
    definition = questionnaires.definition_of(questionnaire)
    level = _level(definition, submission.level)
    clinics = (
        await screening.nearest_clinics(session, submission.region_code)
        if level.fever_clinics
        else []
    )
    context = {
        "submission": submission,
        "definition": definition,
        "answers": json.loads(submission.answers),
        "level": level,
        "levels": LEVEL_MESSAGES,
        "clinics": clinics,
    }
    return render(request, "triage/prescreening_outcome.html", context)


StatusFilter = Annotated[str | None, Query(pattern="^(" + "|".join(ALERT_STATUSES) + ")$")]


@router.get("/command-centre")
async def board_page(
    request: Request, session: DbSession, actor: Command, status: StatusFilter = None
) -> Response:
    """The command centre's alerts by region, open ones first."""
    views = await alerts.board(session, actor, status=status)
    by_region: dict[str, list[alerts.AlertView]] = {}
    for view in views:
        by_region.setdefault(view.alert.region_code, []).append(view)
    context = {
        "by_region": by_region,
        "status": status,
        "statuses": STATUS_MESSAGES,
        "levels": LEVEL_MESSAGES,
        "after": await alerts.last_change(session),
    }
    return render(request, "triage/board.html", context)


@router.post("/command-centre/alerts/{alert_id}", dependencies=CSRF)
async def handle_submit(
    alert_id: Id, request: Request, session: DbSession, actor: Command
) -> Response:
    """Mark an alert contacted, or closed with what was done; the board shows the outcome."""
    response = RedirectResponse("/command-centre", status_code=303)
    parsed, state = parse_form(EpidemicAlertHandle, await form_text(request, ("status", "note")))
    if parsed is None:
        for message in state.errors.values():
            flash(request, response, message, kind="error")
        return response
    try:
        await alerts.handle_alert(
            session,
            actor,
            alert_id=alert_id,
            status=parsed.status,
            note=parsed.note,
            hub=request.app.state.realtime_hub,
        )
    except AppError as error:
        if error.status == 404:
            raise
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    status = gettext(STATUS_MESSAGES[parsed.status])
    flash(request, response, HANDLED_MESSAGE, alert_id=alert_id, status=status)
    return response
