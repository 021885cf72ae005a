"""Smart triage for anyone, signed in or not: the engine's answer, and doctors of the suggested
departments who have free places or consult online.

Nothing of the description is stored or logged: the text is health data the caller hands over
for one answer, and the answer is computed from it alone (:mod:`.engine`). Doctors come from the
directory's public search and the booking's public availability, never their tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.availability import free_places_of_doctors
from ihospital.core.context import Actor
from ihospital.directory.search import search_doctors
from ihospital.directory.views import PractitionerView
from ihospital.errors import Unprocessable
from ihospital.triage.engine import Assessment, Patient, assess
from ihospital.triage.knowledge import Knowledge, load_knowledge
from ihospital.triage.reading import has_words

DEPARTMENTS_WITH_DOCTORS = 3
DOCTORS_PER_DEPARTMENT = 3
# the emergency department takes no bookings: the red flag's instruction says what to do
NO_DOCTORS_FOR = frozenset({"20"})


@dataclass(frozen=True)
class SuggestedDoctor:
    department_code: str
    doctor: PractitionerView
    free_places: int


@dataclass(frozen=True)
class TriageAnswer:
    assessment: Assessment
    doctors: list[SuggestedDoctor]
    knowledge: Knowledge


def checked_text(text: str) -> str:
    """The description, refused when it has no word at all (only emoji or punctuation)."""
    if not has_words(text):
        raise Unprocessable(
            "triage.text_without_words",
            "Describe the symptoms in words: the text has only emoji, digits or punctuation.",
            field="text",
        )
    return text


async def suggested_doctors(
    session: AsyncSession,
    actor: Actor,
    *,
    department_codes: list[str],
    region_code: str | None = None,
) -> list[SuggestedDoctor]:
    """Up to :data:`DOCTORS_PER_DEPARTMENT` verified doctors of each department (in the
    directory's order, of ``region_code`` when given) who have free places in released sessions
    or may consult online now (R05)."""
    found: list[tuple[str, PractitionerView]] = []
    for code in department_codes:
        if code in NO_DOCTORS_FOR:
            continue
        page = await search_doctors(
            session, actor, department=code, region_code=region_code, page_size=10
        )
        found.extend((code, view) for view in page.items)
    free = await free_places_of_doctors(
        session, actor, practitioner_ids=sorted({view.id for _, view in found})
    )
    chosen: list[SuggestedDoctor] = []
    per_department: dict[str, int] = {}
    shown: set[int] = set()
    for code, view in found:
        places = free.get(view.id, 0)
        if view.id in shown or not (places or view.online_available):
            continue
        if per_department.get(code, 0) < DOCTORS_PER_DEPARTMENT:
            per_department[code] = per_department.get(code, 0) + 1
            shown.add(view.id)
            chosen.append(SuggestedDoctor(code, view, places))
    return chosen


async def triage(
    session: AsyncSession,
    actor: Actor,
    *,
    text: str,
    age: int | None = None,
    sex: str | None = None,
    pregnant: bool | None = None,
    region_code: str | None = None,
) -> TriageAnswer:
    """Suggest departments for a description in everyday words (智能导诊): ranked national
    诊疗科目 with the symptoms that matched, red flags first when there are any, and doctors of
    the first departments with free places or online availability. Stores nothing."""
    knowledge = load_knowledge()
    assessment = assess(checked_text(text), Patient(age, sex, pregnant), knowledge)
    codes = [d.code for d in assessment.departments[:DEPARTMENTS_WITH_DOCTORS]]
    doctors = await suggested_doctors(
        session, actor, department_codes=codes, region_code=region_code
    )
    return TriageAnswer(assessment, doctors, knowledge)
