"""API shapes of epidemic pre-screening."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from ihospital.core.schemas import Schema
from ihospital.directory.schemas import RegionCode
from ihospital.directory.validation import phone, plain_text
from ihospital.triage.prescreening.alerts import AlertView
from ihospital.triage.prescreening.definition import Definition, Level
from ihospital.triage.prescreening.drafting import DraftDocument, check
from ihospital.triage.prescreening.models import (
    FeverClinic,
    ScreeningQuestionnaire,
    ScreeningQuestionnaireDraft,
    ScreeningSubmission,
)
from ihospital.triage.prescreening.questionnaires import definition_of
from ihospital.triage.prescreening.screening import Outcome

ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Line = Annotated[str, Field(min_length=2, max_length=128), AfterValidator(plain_text)]


class QuestionnaireRead(Schema):
    id: int
    key: str
    version: int
    status: str
    published_at: datetime
    retired_at: datetime | None
    definition: dict[str, Any]

    @classmethod
    def of(cls, questionnaire: ScreeningQuestionnaire) -> QuestionnaireRead:
        return cls(
            id=questionnaire.id,
            key=questionnaire.key,
            version=questionnaire.version,
            status=questionnaire.status,
            published_at=questionnaire.published_at,
            retired_at=questionnaire.retired_at,
            definition=definition_of(questionnaire).model_dump(
                mode="json", by_alias=True, exclude_none=True
            ),
        )


class QuestionnairePublish(Schema):
    definition: Definition


class QuestionnaireDraftStart(Schema):
    """Start from the version in use, from nothing, or from a definition to import."""

    source: Literal["current", "blank", "import"] = "current"
    definition: Definition | None = None


class QuestionnaireDraftUpdate(Schema):
    revision: Annotated[int, Field(ge=1, le=2**31 - 1)]
    document: DraftDocument


class QuestionnaireDraftPublish(Schema):
    revision: Annotated[int, Field(ge=1, le=2**31 - 1)]


class DraftProblemRead(Schema):
    field: str
    message: str


class QuestionnaireDraftRead(Schema):
    """A draft with what still stands between it and publishing (``problems``, by field)."""

    id: int
    key: str
    revision: int
    title: str
    based_on_questionnaire_id: int | None
    created_at: datetime
    updated_at: datetime
    document: DraftDocument
    problems: list[DraftProblemRead]

    @classmethod
    def of(cls, draft: ScreeningQuestionnaireDraft) -> QuestionnaireDraftRead:
        document = DraftDocument.model_validate_json(draft.document)
        _, problems = check(document)
        return cls(
            id=draft.id,
            key=draft.key,
            revision=draft.revision,
            title=draft.title,
            based_on_questionnaire_id=draft.based_on_questionnaire_id,
            created_at=draft.created_at,
            updated_at=draft.updated_at,
            document=document,
            problems=[
                DraftProblemRead(field=f"document.{field}", message=message)
                for field, message in problems.items()
            ],
        )


class SubmissionCreate(Schema):
    questionnaire_id: ObjectId
    patient_id: ObjectId
    region_code: RegionCode
    answers: dict[Annotated[str, Field(max_length=32)], Any] = Field(max_length=30)


class ClinicRead(Schema):
    name: str
    institution_name: str
    address: str
    hours: str
    phone: str
    region_name: str


class SubmissionRead(Schema):
    id: int
    questionnaire_id: int
    patient_id: int
    region_code: str
    answers: dict[str, Any]
    score: int
    level: str
    created_at: datetime

    @classmethod
    def of(cls, submission: ScreeningSubmission) -> SubmissionRead:
        return cls(
            id=submission.id,
            questionnaire_id=submission.questionnaire_id,
            patient_id=submission.patient_id,
            region_code=submission.region_code,
            answers=json.loads(submission.answers),
            score=submission.score,
            level=submission.level,
            created_at=submission.created_at,
        )


class OutcomeRead(Schema):
    submission: SubmissionRead
    level: str
    instruction: str
    alerted: bool
    fever_clinics: list[ClinicRead]

    @classmethod
    def of(cls, outcome: Outcome) -> OutcomeRead:
        level: Level = outcome.level
        return cls(
            submission=SubmissionRead.of(outcome.submission),
            level=level.level,
            instruction=level.instruction.shown(),
            alerted=level.alert,
            fever_clinics=[ClinicRead.model_validate(c) for c in outcome.clinics],
        )


class EpidemicAlertRead(Schema):
    id: int
    submission_id: int
    status: str
    level: str
    score: int
    region_code: str
    patient_name: str
    contact: str
    note: str
    created_at: datetime
    handled_at: datetime | None

    @classmethod
    def of(cls, view: AlertView) -> EpidemicAlertRead:
        alert = view.alert
        return cls(
            id=alert.id,
            submission_id=alert.submission_id,
            status=alert.status,
            level=alert.level,
            score=alert.score,
            region_code=alert.region_code,
            patient_name=view.patient_name,
            contact=view.contact,
            note=alert.note,
            created_at=alert.created_at,
            handled_at=alert.handled_at,
        )


class EpidemicAlertHandle(Schema):
    status: Literal["contacted", "closed"]
    note: Annotated[str, Field(max_length=500), AfterValidator(plain_text)] = ""


class FeverClinicWrite(Schema):
    name: Line
    address: Annotated[str, Field(min_length=4, max_length=256), AfterValidator(plain_text)]
    hours: Line
    phone: Annotated[str, Field(min_length=5, max_length=32), AfterValidator(phone)]


class FeverClinicRead(Schema):
    id: int
    institution_id: int
    name: str
    address: str
    hours: str
    phone: str
    active: bool

    @classmethod
    def of(cls, clinic: FeverClinic) -> FeverClinicRead:
        return cls.model_validate(clinic)
