"""The questionnaire editor (/admin/prescreening/drafts/…): platform admins build the next version
in plain forms — title and introduction, questions with their kind, options, point bands and
range, the risk levels with their score bands and instructions — then preview it as patients
will see it and publish it. Every button (add, remove, move up or down, check, preview, publish)
posts the whole form back, which saves the draft first, so it all works without JavaScript and
over as many requests as the admin needs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from ihospital.core.context import Actor
from ihospital.core.i18n import gettext
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import AppError
from ihospital.identity.forms import FormState
from ihospital.security.permissions import Permission
from ihospital.triage.prescreening import drafts
from ihospital.triage.prescreening.admin_pages import VERSION_PUBLISHED_MESSAGE
from ihospital.triage.prescreening.drafting import (
    UNIT_RANGES,
    DraftBand,
    DraftDocument,
    DraftLevel,
    DraftOption,
    DraftQuestion,
    check,
)
from ihospital.triage.prescreening.models import ScreeningQuestionnaireDraft
from ihospital.triage.prescreening.pages import LEVEL_MESSAGES
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(prefix="/admin/prescreening/drafts", include_in_schema=False)

CSRF = [Depends(check_csrf)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Manager = Annotated[Actor, Depends(require(Permission.PRESCREENING_MANAGE))]
DRAFT_SAVED_MESSAGE = "The draft is saved."
DRAFT_CHECKED_MESSAGE = "The draft is complete and can be published."
DRAFT_DISCARDED_MESSAGE = "The draft is discarded."
DRAFT_UNREADABLE_MESSAGE = "The form could not be read; nothing was saved."
KIND_MESSAGES = {
    "yes_no": "Yes or no",
    "single": "One choice",
    "multiple": "Several choices",
    "number": "A number (such as a temperature)",
}
LIMITS = {"questions": 30, "options": 20, "bands": 10, "levels": 3}


def _words(form: FormData, name: str) -> dict[str, str]:
    return {"zh": str(form.get(f"{name}.zh") or ""), "en": str(form.get(f"{name}.en") or "")}


def _rows(form: FormData, name: str, marker: str) -> list[str]:
    """The prefixes ``name.0``, ``name.1``… of the rows the form posted (each has ``marker``)."""
    rows, index = [], 0
    while f"{name}.{index}.{marker}" in form and index < 100:
        rows.append(f"{name}.{index}")
        index += 1
    return rows


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "")


def _question(form: FormData, at: str) -> dict[str, Any]:
    return {
        "id": _text(form, f"{at}.id"),
        "kind": _text(form, f"{at}.kind"),
        "label": _words(form, f"{at}.label"),
        "required": f"{at}.required" in form,
        **{key: _text(form, f"{at}.{key}") for key in ("points_yes", "unit", "minimum", "maximum")},
        "options": [
            {"id": _text(form, f"{o}.id"), "label": _words(form, f"{o}.label")}
            | {"points": _text(form, f"{o}.points")}
            for o in _rows(form, f"{at}.options", "id")
        ],
        "bands": [
            {key: _text(form, f"{b}.{key}") for key in ("from", "to", "points")}
            for b in _rows(form, f"{at}.bands", "points")
        ],
    }


def document_from_form(form: FormData) -> DraftDocument:
    """The editor's fields as a document (names as ``questions.0.options.1.points``)."""
    return DraftDocument.model_validate(
        {
            "title": _words(form, "title"),
            "intro": _words(form, "intro"),
            "questions": [_question(form, q) for q in _rows(form, "questions", "kind")],
            "levels": [
                {
                    "level": _text(form, f"{at}.level"),
                    "min_score": _text(form, f"{at}.min_score"),
                    "max_score": _text(form, f"{at}.max_score"),
                    "instruction": _words(form, f"{at}.instruction"),
                    "alert": f"{at}.alert" in form,
                    "fever_clinics": f"{at}.fever_clinics" in form,
                }
                for at in _rows(form, "levels", "level")
            ],
        }
    )


def _move(items: list[Any], index: int, step: int) -> None:
    other = index + step
    if 0 <= index < len(items) and 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]


def _remove(items: list[Any], index: int) -> None:
    if 0 <= index < len(items):
        del items[index]


def apply(document: DraftDocument, action: str) -> str:
    """Do what the pressed button says to the document; the anchor to show afterwards."""
    verb, _, where = action.partition(":")
    at = [int(part) for part in where.split(":") if part.isdigit()]
    questions = document.questions
    question = questions[at[0]] if at and at[0] < len(questions) else None
    if verb == "add_question" and len(questions) < LIMITS["questions"]:
        questions.append(DraftQuestion())
        return f"question-{len(questions) - 1}"
    if verb == "remove_question" and at:
        _remove(questions, at[0])
    elif verb in ("up_question", "down_question") and at:
        _move(questions, at[0], -1 if verb == "up_question" else 1)
        return f"question-{max(at[0] + (-1 if verb == 'up_question' else 1), 0)}"
    elif verb == "add_option" and question and len(question.options) < LIMITS["options"]:
        question.options.append(DraftOption())
    elif verb == "remove_option" and question and len(at) == 2:
        _remove(question.options, at[1])
    elif verb == "add_band" and question and len(question.bands) < LIMITS["bands"]:
        question.bands.append(DraftBand())
    elif verb == "remove_band" and question and len(at) == 2:
        _remove(question.bands, at[1])
    elif verb == "add_level" and len(document.levels) < LIMITS["levels"]:
        taken = {level.level for level in document.levels}
        name = next(n for n in LEVEL_MESSAGES if n not in taken)
        document.levels.append(DraftLevel(level=name))  # type: ignore[arg-type]
        return "levels"
    elif verb == "remove_level" and at:
        _remove(document.levels, at[0])
        return "levels"
    return f"question-{at[0]}" if at and question else "editor"


def editor(
    request: Request,
    draft: ScreeningQuestionnaireDraft,
    content: DraftDocument,
    state: FormState,
) -> Response:
    context = {
        "draft": draft,
        "document": content,
        "kinds_shown": [(kind, gettext(label)) for kind, label in KIND_MESSAGES.items()],
        "level_names_shown": [(name, gettext(label)) for name, label in LEVEL_MESSAGES.items()],
        "level_names_dict": LEVEL_MESSAGES,
        "units": list(UNIT_RANGES),
        "limits": LIMITS,
        **state.context(),
    }
    return render(request, "triage/admin_draft.html", context, status_code=state.status_code)


@router.post("", dependencies=CSRF)
async def start_submit(request: Request, session: DbSession, actor: Manager) -> Response:
    """A new draft from the version in use, or a blank one (``start=blank``)."""
    source = "blank" if _text(await request.form(), "start") == "blank" else "current"
    draft = await drafts.start_draft(session, actor, source=source)
    return RedirectResponse(f"/admin/prescreening/drafts/{draft.id}", status_code=303)


@router.get("/{draft_id}")
async def draft_page(
    draft_id: Id, request: Request, session: DbSession, actor: Manager
) -> Response:
    """The editor with the draft as last saved."""
    draft = await drafts.get_draft(session, draft_id=draft_id)
    return editor(request, draft, drafts.document(draft), FormState())


def _revision(form: FormData) -> int:
    text = _text(form, "revision")
    return int(text) if text.isdigit() and len(text) < 10 else 0


@router.post("/{draft_id}", dependencies=CSRF)
async def draft_submit(
    draft_id: Id, request: Request, session: DbSession, actor: Manager
) -> Response:
    """Save the posted fields, then do what the pressed button says."""
    form = await request.form()
    action = _text(form, "action") or "save"
    draft = await drafts.get_draft(session, draft_id=draft_id)
    try:
        content = document_from_form(form)
    except ValidationError:
        state = FormState(status_code=422)
        state.notices.append(Notice(DRAFT_UNREADABLE_MESSAGE, "error", {}))
        return editor(request, draft, drafts.document(draft), state)
    anchor = apply(content, action)
    try:
        draft = await drafts.save_draft(
            session, actor, draft_id=draft_id, revision=_revision(form), content=content
        )
        if action == "publish":
            published = await drafts.publish_draft(
                session, actor, draft_id=draft_id, revision=draft.revision
            )
            response = RedirectResponse("/admin/prescreening", status_code=303)
            flash(request, response, VERSION_PUBLISHED_MESSAGE, version=published.version)
            return response
    except AppError as error:
        if error.status == 404:
            raise
        state = FormState(status_code=error.status)
        if error.code == "prescreening.draft_invalid":
            state.errors = {
                item["field"].removeprefix("document."): item["message"]
                for item in error.fields["errors"]
            }
            return editor(request, draft, content, state)
        state.notices.append(Notice(error.message, "error", dict(error.fields)))
        return editor(request, draft, drafts.document(draft), state)
    if action == "check":
        definition, errors = check(content)
        state = FormState(errors=errors, status_code=200 if definition else 422)
        if definition is not None:
            state.notices.append(Notice(DRAFT_CHECKED_MESSAGE, "success", {}))
        return editor(request, draft, content, state)
    if action == "preview":
        return RedirectResponse(f"/admin/prescreening/drafts/{draft_id}/preview", status_code=303)
    response = RedirectResponse(f"/admin/prescreening/drafts/{draft_id}#{anchor}", status_code=303)
    if action == "save":
        flash(request, response, DRAFT_SAVED_MESSAGE)
    return response


@router.get("/{draft_id}/preview")
async def preview_page(
    draft_id: Id, request: Request, session: DbSession, actor: Manager
) -> Response:
    """The questionnaire as a patient will see it (the answers go nowhere), or what is still
    missing before it can be shown."""
    draft = await drafts.get_draft(session, draft_id=draft_id)
    definition, errors = check(drafts.document(draft))
    context = {
        "draft": draft,
        "definition": definition,
        "problems": errors,
        "values": {},
        "level_names": LEVEL_MESSAGES,
    }
    return render(request, "triage/admin_draft_preview.html", context)


@router.post("/{draft_id}/discard", dependencies=CSRF)
async def discard_submit(
    draft_id: Id, request: Request, session: DbSession, actor: Manager
) -> Response:
    form = await request.form()
    response = RedirectResponse("/admin/prescreening", status_code=303)
    try:
        await drafts.discard_draft(session, actor, draft_id=draft_id, revision=_revision(form))
    except AppError as error:
        if error.status == 404:
            raise
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, DRAFT_DISCARDED_MESSAGE)
    return response
