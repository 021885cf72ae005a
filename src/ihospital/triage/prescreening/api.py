"""JSON routes of epidemic pre-screening: the published questionnaire (anyone), answering it for
one's own 就诊人, reading a submission (the patient, the command centre of its region, a doctor
treating the 就诊人), publishing and retiring versions (platform admins), the command centre's
board, and an institution's fever clinics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission
from ihospital.triage.prescreening import alerts, clinics, drafts, questionnaires, screening
from ihospital.triage.prescreening.models import ALERT_STATUSES
from ihospital.triage.prescreening.schemas import (
    EpidemicAlertHandle,
    EpidemicAlertRead,
    FeverClinicRead,
    FeverClinicWrite,
    OutcomeRead,
    QuestionnaireDraftPublish,
    QuestionnaireDraftRead,
    QuestionnaireDraftStart,
    QuestionnaireDraftUpdate,
    QuestionnairePublish,
    QuestionnaireRead,
    SubmissionCreate,
    SubmissionRead,
)

router = APIRouter(prefix="/api", tags=["prescreening"])

ObjectId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Patient = Annotated[Actor, Depends(require(Permission.PRESCREENING_OWN))]
Reader = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]
Manager = Annotated[Actor, Depends(require(Permission.PRESCREENING_MANAGE))]
Command = Annotated[Actor, Depends(require(Permission.EPIDEMIC_COMMAND))]
InstitutionAdmin = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]


@router.get("/prescreening/questionnaire")
async def published_questionnaire(session: DbSession) -> QuestionnaireRead:
    """The questionnaire version patients answer now."""
    return QuestionnaireRead.of(await questionnaires.published(session))


@router.post("/prescreening/submissions", status_code=201)
async def submit(body: SubmissionCreate, session: DbSession, actor: Patient) -> OutcomeRead:
    """Answer the questionnaire for one's own 就诊人: the risk level, what to do, and the nearest
    fever clinics when the level sends the patient to one. A level that alerts the command
    centre does so through the outbox."""
    outcome = await screening.submit(
        session,
        actor,
        questionnaire_id=body.questionnaire_id,
        patient_id=body.patient_id,
        region_code=body.region_code,
        answers=body.answers,
    )
    return OutcomeRead.of(outcome)


@router.get("/prescreening/submissions")
async def own_submissions(session: DbSession, actor: Patient) -> list[SubmissionRead]:
    return [SubmissionRead.of(s) for s in await screening.own_submissions(session, actor)]


@router.get("/prescreening/submissions/{submission_id}")
async def read_submission(
    submission_id: ObjectId, session: DbSession, actor: Reader
) -> SubmissionRead:
    """One submission with its answers (audited); not found for anyone who may not read it."""
    submission = await screening.read_submission(session, actor, submission_id=submission_id)
    return SubmissionRead.of(submission)


@router.get("/admin/prescreening/questionnaires")
async def questionnaire_versions(session: DbSession, actor: Manager) -> list[QuestionnaireRead]:
    return [QuestionnaireRead.of(q) for q in await questionnaires.versions(session)]


@router.post("/admin/prescreening/questionnaires", status_code=201)
async def publish_questionnaire(
    body: QuestionnairePublish, session: DbSession, actor: Manager
) -> QuestionnaireRead:
    """Publish a new version; the one it replaces retires (submissions keep theirs)."""
    return QuestionnaireRead.of(await questionnaires.publish(session, actor, body.definition))


@router.post("/admin/prescreening/questionnaires/{questionnaire_id}/retire")
async def retire_questionnaire(
    questionnaire_id: ObjectId, session: DbSession, actor: Manager
) -> QuestionnaireRead:
    retired = await questionnaires.retire(session, actor, questionnaire_id=questionnaire_id)
    return QuestionnaireRead.of(retired)


@router.get("/admin/prescreening/drafts")
async def questionnaire_drafts(session: DbSession, actor: Manager) -> list[QuestionnaireDraftRead]:
    return [QuestionnaireDraftRead.of(draft) for draft in await drafts.drafts(session)]


@router.post("/admin/prescreening/drafts", status_code=201)
async def start_questionnaire_draft(
    body: QuestionnaireDraftStart, session: DbSession, actor: Manager
) -> QuestionnaireDraftRead:
    """A draft of the next version, from the version in use, blank, or an imported definition."""
    if body.source == "import" and body.definition is None:
        raise drafts.definition_required()
    draft = await drafts.start_draft(session, actor, source=body.source, definition=body.definition)
    return QuestionnaireDraftRead.of(draft)


@router.get("/admin/prescreening/drafts/{draft_id}")
async def read_questionnaire_draft(
    draft_id: ObjectId, session: DbSession, actor: Manager
) -> QuestionnaireDraftRead:
    return QuestionnaireDraftRead.of(await drafts.get_draft(session, draft_id=draft_id))


@router.put("/admin/prescreening/drafts/{draft_id}")
async def update_questionnaire_draft(
    draft_id: ObjectId, body: QuestionnaireDraftUpdate, session: DbSession, actor: Manager
) -> QuestionnaireDraftRead:
    """Save the whole document (incomplete is fine) over ``revision``; a stale revision is a
    409 conflict."""
    draft = await drafts.save_draft(
        session, actor, draft_id=draft_id, revision=body.revision, content=body.document
    )
    return QuestionnaireDraftRead.of(draft)


@router.post("/admin/prescreening/drafts/{draft_id}/publish", status_code=201)
async def publish_questionnaire_draft(
    draft_id: ObjectId, body: QuestionnaireDraftPublish, session: DbSession, actor: Manager
) -> QuestionnaireRead:
    """Publish the draft as the next version, or a 422 problem listing each field to correct."""
    published = await drafts.publish_draft(
        session, actor, draft_id=draft_id, revision=body.revision
    )
    return QuestionnaireRead.of(published)


@router.delete("/admin/prescreening/drafts/{draft_id}", status_code=204)
async def discard_questionnaire_draft(
    draft_id: ObjectId,
    session: DbSession,
    actor: Manager,
    revision: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> None:
    await drafts.discard_draft(session, actor, draft_id=draft_id, revision=revision)


@router.get("/command-centre/alerts")
async def board(
    session: DbSession,
    actor: Command,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(ALERT_STATUSES) + ")$")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,6}$")] = None,
) -> list[EpidemicAlertRead]:
    """The alerts of the command centre's regions, open ones first (audited)."""
    views = await alerts.board(session, actor, status=status, region=region)
    return [EpidemicAlertRead.of(view) for view in views]


@router.post("/command-centre/alerts/{alert_id}")
async def handle_alert(
    alert_id: ObjectId,
    body: EpidemicAlertHandle,
    request: Request,
    session: DbSession,
    actor: Command,
) -> EpidemicAlertRead:
    """Mark an alert contacted, or closed with what was done."""
    view = await alerts.handle_alert(
        session,
        actor,
        alert_id=alert_id,
        status=body.status,
        note=body.note,
        hub=request.app.state.realtime_hub,
    )
    return EpidemicAlertRead.of(view)


@router.get("/institutions/{institution_id}/fever-clinics")
async def fever_clinics(
    institution_id: ObjectId, session: DbSession, actor: InstitutionAdmin
) -> list[FeverClinicRead]:
    rows = await clinics.institution_clinics(session, actor, institution_id=institution_id)
    return [FeverClinicRead.of(clinic) for clinic in rows]


@router.post("/institutions/{institution_id}/fever-clinics", status_code=201)
async def add_fever_clinic(
    institution_id: ObjectId, body: FeverClinicWrite, session: DbSession, actor: InstitutionAdmin
) -> FeverClinicRead:
    clinic = await clinics.add_clinic(
        session, actor, institution_id=institution_id, **body.model_dump()
    )
    return FeverClinicRead.of(clinic)


@router.post("/institutions/{institution_id}/fever-clinics/{clinic_id}/{action}")
async def open_or_close_fever_clinic(
    institution_id: ObjectId,
    clinic_id: ObjectId,
    action: Annotated[str, Path(pattern="^(open|close)$")],
    session: DbSession,
    actor: InstitutionAdmin,
) -> FeverClinicRead:
    clinic = await clinics.set_clinic_active(
        session,
        actor,
        institution_id=institution_id,
        clinic_id=clinic_id,
        active=action == "open",
    )
    return FeverClinicRead.of(clinic)
