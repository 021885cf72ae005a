"""The chat on the consultation pages (图文问诊): the conversation as the page shows it, and the
forms that send a message (text, and for the patient a picture or report) and mark the other
side's messages as read, for pages without JavaScript (static/js/consultation-chat.js sends
over the WebSocket instead). A refusal comes back as a notice on the page; another account's or
another doctor's consultation is not found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from ihospital.config import Settings
from ihospital.consultation.chat import (
    FOLLOW_UP_HOURS,
    PAGE_SIZE,
    TEXT_MAX_LENGTH,
    Participant,
    chat_participant,
    list_messages,
    mark_read,
    stored_messages,
)
from ihospital.consultation.chat_schemas import MessageRead
from ihospital.consultation.chat_send import send_message
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.middleware import BodyLimit
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import AppError, Forbidden
from ihospital.files.api import admit_upload, upload_body_limit
from ihospital.files.service import store_upload
from ihospital.security.permissions import Permission, has_permission
from ihospital.web.flash import flash

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Patient = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
REFRESH_SECONDS = 60  # how often a page without JavaScript reloads an open chat
MAX_PAGES = 10  # the page shows at most this many pages of PAGE_SIZE messages
# the doctor's quick replies: phrases that fill the message box (sent at once without JavaScript)
QUICK_REPLY_MESSAGES = {
    "received": "I have received your message and am looking at it now.",
    "details": "Please describe your symptoms in more detail: when did they start?",
    "photo": "Please send a photo of your latest test report.",
    "medicine": "Please tell me the name and dose of the medicine you take now.",
    "rest": "Please rest, drink enough water and avoid spicy food.",
    "visit": "Please see a doctor in person if it gets worse.",
}
SEND_FORM_PATH = re.compile(r"(/doctor)?/consultations/[0-9]{1,19}/messages")


def chat_body_limit(settings: Settings) -> tuple[re.Pattern[str], BodyLimit]:
    """The send form (patient's or doctor's) takes one file: its body limit is the upload
    route's."""
    return SEND_FORM_PATH, upload_body_limit(settings)


@dataclass(frozen=True)
class ChatView:
    """What the conversation partial shows, for the ``side`` of the reader."""

    side: str
    base_path: str
    messages: list[MessageRead]
    open: bool
    can_attach: bool
    quick_replies: dict[str, str] = field(default_factory=dict)

    @property
    def after(self) -> int:
        return self.messages[-1].id if self.messages else 0

    @property
    def unread_up_to(self) -> int:
        """The newest unread message of the other side (0 when none)."""
        return max(
            (
                m.id
                for m in self.messages
                if m.sender_role not in (self.side, "system") and m.read_at is None
            ),
            default=0,
        )

    @property
    def socket_path(self) -> str:
        return "/ws" + self.base_path

    @property
    def refresh_seconds(self) -> int:
        return REFRESH_SECONDS


def sending_open(consultation: Consultation, actor: Actor) -> bool:
    """Whether messages can be sent now: in progress, or in the follow-up time after closing
    (the service refuses the rest with its reason)."""
    if consultation.status == "in_progress":
        return True
    return (
        consultation.status == "closed"
        and consultation.ended_at is not None
        and (actor.clock.now() < consultation.ended_at + timedelta(hours=FOLLOW_UP_HOURS))
    )


def quick_replies(settings: Settings) -> dict[str, str]:
    """The doctor's quick replies by key: the configured phrases, else the built-in ones
    translated into the reader's language."""
    if settings.consultation_quick_replies:
        return {str(i): text for i, text in enumerate(settings.consultation_quick_replies)}
    return {key: translate(text) for key, text in QUICK_REPLY_MESSAGES.items()}


async def chat_context(
    request: Request, session: AsyncSession, actor: Actor, consultation: Consultation
) -> dict[str, Any]:
    """The ``chat`` of a consultation page: its messages (the read is audited) and its forms."""
    messages = await list_messages(session, actor, consultation_id=consultation.id)
    pages = 1
    while len(messages) == PAGE_SIZE * pages and pages < MAX_PAGES:
        messages += await stored_messages(session, consultation.id, after_id=messages[-1].id)
        pages += 1
    doctor = has_permission(actor.role, Permission.CONSULTATIONS_ATTEND)
    view = ChatView(
        side="doctor" if doctor else "patient",
        base_path=("/doctor" if doctor else "") + f"/consultations/{consultation.id}",
        messages=[MessageRead.from_message(message) for message in messages],
        open=sending_open(consultation, actor),
        can_attach=has_permission(actor.role, Permission.FILES_UPLOAD),
        quick_replies=quick_replies(request.app.state.settings) if doctor else {},
    )
    return {"chat": view, "text_max_length": TEXT_MAX_LENGTH}


def _id(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**63 else None


def _text(form: Any, replies: dict[str, str]) -> str | None:
    text = str(form.get("text") or "").strip()
    quick = replies.get(str(form.get("quick_reply") or ""))
    if quick is not None:  # without JavaScript a quick reply is sent at once
        text = f"{text}\n{quick}" if text else quick
    return text or None


def _back_to_chat(participant: Participant) -> RedirectResponse:
    """To the conversation on the page of the consultation, for the participant's side."""
    consultation_id = participant.consultation.id
    prefix = "/doctor" if participant.side == "doctor" else ""
    return RedirectResponse(f"{prefix}/consultations/{consultation_id}#chat", status_code=303)


async def _upload(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    upload: UploadFile,
    patient_id: int | None,
) -> int:
    """Store the attached file for the consultation's 就诊人, as the upload route does."""
    if not has_permission(actor.role, Permission.FILES_UPLOAD):
        raise Forbidden("auth.forbidden", "Your role may not do this.")
    await admit_upload(request, actor)
    await session.commit()  # no transaction waits on the object store
    max_bytes = request.app.state.settings.files_max_bytes
    stored = await store_upload(
        session,
        actor,
        store=request.app.state.object_store,
        data=await upload.read(max_bytes + 1),
        filename=upload.filename or "",
        max_bytes=max_bytes,
        patient_id=patient_id,
    )
    return stored.id


async def _send(
    request: Request, session: AsyncSession, actor: Actor, consultation_id: int
) -> Response:
    participant = await chat_participant(session, actor, consultation_id=consultation_id)
    response = _back_to_chat(participant)
    form = await request.form()
    upload = form.get("attachment")
    hub = request.app.state.realtime_hub
    try:
        file_id = None
        if isinstance(upload, UploadFile) and upload.filename:
            about = participant.consultation.patient_id if participant.side == "patient" else None
            file_id = await _upload(request, session, actor, upload, about)
        async with session.begin_nested():  # a refusal leaves nothing behind
            await send_message(
                session,
                actor,
                consultation_id=consultation_id,
                text=_text(form, quick_replies(request.app.state.settings)),
                file_id=file_id,
                hub=hub,
            )
            if up_to := _id(form.get("read_up_to")):  # who replies has read what was shown
                await mark_read(
                    session, actor, consultation_id=consultation_id, up_to=up_to, hub=hub
                )
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "Your message was sent.")
    return response


async def _read(
    request: Request, session: AsyncSession, actor: Actor, consultation_id: int
) -> Response:
    participant = await chat_participant(session, actor, consultation_id=consultation_id)
    response = _back_to_chat(participant)
    up_to = _id((await request.form()).get("up_to"))
    if up_to is not None:
        await mark_read(
            session,
            actor,
            consultation_id=consultation_id,
            up_to=up_to,
            hub=request.app.state.realtime_hub,
        )
    return response


@router.post("/consultations/{consultation_id}/messages", dependencies=CSRF)
async def patient_send_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Patient
) -> Response:
    """Send a message to the doctor (text, a picture or report, or both); back to the page."""
    return await _send(request, session, actor, consultation_id)


@router.post("/consultations/{consultation_id}/messages/read", dependencies=CSRF)
async def patient_read_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Patient
) -> Response:
    """The doctor's messages shown on the page are read."""
    return await _read(request, session, actor, consultation_id)


@router.post("/doctor/consultations/{consultation_id}/messages", dependencies=CSRF)
async def doctor_send_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Send a message (typed, or a quick reply) to the patient; back to the page."""
    return await _send(request, session, actor, consultation_id)


@router.post("/doctor/consultations/{consultation_id}/messages/read", dependencies=CSRF)
async def doctor_read_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """The patient's messages shown on the page are read."""
    return await _read(request, session, actor, consultation_id)
