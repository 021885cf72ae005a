"""Directory JSON API: institutions, departments, practitioners, credential review, doctor search.

Reads of the public directory (institutions, national departments, verified doctors) are public on
purpose; every change names the permission it needs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ihospital.core.context import Actor
from ihospital.core.schemas import Page
from ihospital.deps import DbSession, optional_actor, require
from ihospital.directory import (
    credentials,
    departments,
    institutions,
    practitioners,
    search,
    sites,
)
from ihospital.directory.models import VERIFICATION_STATUSES
from ihospital.directory.schemas import (
    CredentialReviewRead,
    DepartmentCodeRead,
    DepartmentSet,
    DoctorProfile,
    DoctorSummary,
    InstitutionCreate,
    InstitutionDepartmentRead,
    InstitutionDetail,
    InstitutionRead,
    InstitutionUpdate,
    Level,
    PracticeSitesSet,
    PractitionerCreate,
    PractitionerRead,
    PractitionerUpdate,
    ProfileUpdate,
    ReviewDecisionIn,
    Title,
)
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["directory"])

PublicActor = Annotated[Actor, Depends(optional_actor)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=search.MAX_PAGE_SIZE)]
RegionCodeQuery = Annotated[str | None, Query(pattern=r"^[0-9]{6}$")]
DepartmentPath = Annotated[str, Path(max_length=8)]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Status = Annotated[str | None, Query(pattern="^(" + "|".join(VERIFICATION_STATUSES) + ")$")]


def _sites(body: PracticeSitesSet) -> list[sites.SiteInput]:
    return [sites.SiteInput(**site.model_dump()) for site in body.practice_sites]


# --- institutions and departments ---------------------------------------------------------


@router.get("/departments", response_model=list[DepartmentCodeRead])
async def list_departments(session: DbSession, actor: PublicActor) -> list[DepartmentCodeRead]:
    """Public: the national list of 诊疗科目 codes."""
    rows = await departments.list_department_codes(session, actor)
    return [DepartmentCodeRead.model_validate(row) for row in rows]


@router.get("/institutions", response_model=Page[InstitutionRead])
async def list_institutions(
    session: DbSession,
    actor: PublicActor,
    region_code: RegionCodeQuery = None,
    level: Annotated[Level | None, Query()] = None,
    internet_hospital: bool | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[InstitutionRead]:
    """Public: institutions by region (a province or city code covers its area), level and
    whether they are internet hospitals."""
    result = await institutions.list_institutions(
        session,
        actor,
        region_code=region_code,
        level=level,
        is_internet_hospital=internet_hospital,
        page=page,
        page_size=page_size,
    )
    return Page[InstitutionRead].model_validate(result)


@router.post("/institutions", status_code=201, response_model=InstitutionRead)
async def create_institution(
    body: InstitutionCreate,
    session: DbSession,
    actor: Annotated[Actor, Depends(require(Permission.INSTITUTION_CREATE))],
) -> InstitutionRead:
    institution = await institutions.create_institution(session, actor, **body.model_dump())
    return InstitutionRead.model_validate(institution)


@router.get("/institutions/{institution_id}", response_model=InstitutionDetail)
async def get_institution(
    institution_id: RecordId, session: DbSession, actor: PublicActor
) -> InstitutionDetail:
    """Public: an institution with its departments and consortium (医联体) links."""
    view = await institutions.get_institution(session, actor, institution_id=institution_id)
    return InstitutionDetail.model_validate(view)


@router.patch("/institutions/{institution_id}", response_model=InstitutionRead)
async def update_institution(
    institution_id: RecordId,
    body: InstitutionUpdate,
    session: DbSession,
    actor: Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))],
) -> InstitutionRead:
    institution = await institutions.update_institution(
        session,
        actor,
        institution_id=institution_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return InstitutionRead.model_validate(institution)


@router.put(
    "/institutions/{institution_id}/departments/{department_code}",
    response_model=InstitutionDepartmentRead,
)
async def set_department(
    institution_id: RecordId,
    department_code: DepartmentPath,
    body: DepartmentSet,
    session: DbSession,
    actor: Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))],
) -> InstitutionDepartmentRead:
    view = await departments.add_department(
        session,
        actor,
        institution_id=institution_id,
        department_code=department_code,
        local_name=body.local_name,
        offers_online=body.offers_online,
    )
    return InstitutionDepartmentRead.model_validate(view)


@router.delete("/institutions/{institution_id}/departments/{department_code}", status_code=204)
async def remove_department(
    institution_id: RecordId,
    department_code: DepartmentPath,
    session: DbSession,
    actor: Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))],
) -> Response:
    await departments.remove_department(
        session, actor, institution_id=institution_id, department_code=department_code
    )
    return Response(status_code=204)


# --- practitioners and credential review ---------------------------------------------------

StaffManager = Annotated[Actor, Depends(require(Permission.STAFF_MANAGE))]
Doctor = Annotated[Actor, Depends(require(Permission.PRACTITIONER_SELF))]


@router.post(
    "/institutions/{institution_id}/practitioners",
    status_code=201,
    response_model=PractitionerRead,
)
async def create_practitioner(
    institution_id: RecordId, body: PractitionerCreate, session: DbSession, actor: StaffManager
) -> PractitionerRead:
    """Create a doctor's account and practitioner record (a draft awaiting review)."""
    fields = body.model_dump(exclude={"practice_sites"})
    view = await practitioners.create_practitioner(
        session, actor, institution_id=institution_id, practice_sites=_sites(body), **fields
    )
    return PractitionerRead.model_validate(view)


@router.get("/institutions/{institution_id}/practitioners", response_model=Page[PractitionerRead])
async def list_practitioners(
    institution_id: RecordId,
    session: DbSession,
    actor: StaffManager,
    status: Status = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[PractitionerRead]:
    """The institution's doctors in every review status."""
    result = await practitioners.list_practitioners(
        session,
        actor,
        institution_id=institution_id,
        status=status,
        page=page,
        page_size=page_size,
    )
    return Page[PractitionerRead].model_validate(result)


@router.get("/practitioners/me", response_model=PractitionerRead)
async def get_own_practitioner(session: DbSession, actor: Doctor) -> PractitionerRead:
    view = await practitioners.get_own_practitioner(session, actor)
    return PractitionerRead.model_validate(view)


@router.patch("/practitioners/me", response_model=PractitionerRead)
async def update_own_profile(
    body: ProfileUpdate, session: DbSession, actor: Doctor
) -> PractitionerRead:
    """A doctor edits their introduction, specialties and photo."""
    view = await practitioners.update_own_profile(
        session, actor, changes=body.model_dump(exclude_unset=True)
    )
    return PractitionerRead.model_validate(view)


@router.post("/practitioners/me/submission", response_model=PractitionerRead)
async def submit_own_for_review(session: DbSession, actor: Doctor) -> PractitionerRead:
    """A doctor submits their record for credential review."""
    view = await credentials.submit_own_for_review(session, actor)
    return PractitionerRead.model_validate(view)


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerRead)
async def get_practitioner(
    practitioner_id: RecordId, session: DbSession, actor: StaffManager
) -> PractitionerRead:
    view = await practitioners.get_practitioner(session, actor, practitioner_id=practitioner_id)
    return PractitionerRead.model_validate(view)


@router.patch("/practitioners/{practitioner_id}", response_model=PractitionerRead)
async def update_practitioner(
    practitioner_id: RecordId, body: PractitionerUpdate, session: DbSession, actor: StaffManager
) -> PractitionerRead:
    """Correct a doctor's record; changed credentials of a verified doctor go back to review."""
    view = await practitioners.update_practitioner(
        session,
        actor,
        practitioner_id=practitioner_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return PractitionerRead.model_validate(view)


@router.put("/practitioners/{practitioner_id}/sites", response_model=PractitionerRead)
async def set_practice_sites(
    practitioner_id: RecordId, body: PracticeSitesSet, session: DbSession, actor: StaffManager
) -> PractitionerRead:
    """Replace a doctor's practice sites (多点执业)."""
    view = await sites.set_practice_sites(
        session,
        actor,
        practitioner_id=practitioner_id,
        department_code=body.department_code,
        practice_sites=_sites(body),
    )
    return PractitionerRead.model_validate(view)


@router.post("/practitioners/{practitioner_id}/submission", response_model=PractitionerRead)
async def submit_for_review(
    practitioner_id: RecordId, session: DbSession, actor: StaffManager
) -> PractitionerRead:
    view = await credentials.submit_for_review(session, actor, practitioner_id=practitioner_id)
    return PractitionerRead.model_validate(view)


@router.post("/practitioners/{practitioner_id}/reviews", response_model=PractitionerRead)
async def decide_review(
    practitioner_id: RecordId,
    body: ReviewDecisionIn,
    request: Request,
    session: DbSession,
    actor: StaffManager,
) -> PractitionerRead:
    """Verify, reject, suspend or reinstate a doctor (reject and suspend need a note); a
    verified doctor gets their signing key."""
    view = await credentials.decide_review(
        session,
        actor,
        practitioner_id=practitioner_id,
        decision=body.decision,
        note=body.note,
        cipher=request.app.state.cipher,
    )
    return PractitionerRead.model_validate(view)


@router.get("/practitioners/{practitioner_id}/reviews", response_model=list[CredentialReviewRead])
async def list_reviews(
    practitioner_id: RecordId, session: DbSession, actor: StaffManager
) -> list[CredentialReviewRead]:
    rows = await credentials.list_reviews(session, actor, practitioner_id=practitioner_id)
    return [CredentialReviewRead.model_validate(row) for row in rows]


# --- public doctor directory -------------------------------------------------------------------


@router.get("/doctors", response_model=Page[DoctorSummary])
async def search_doctors(
    session: DbSession,
    actor: PublicActor,
    department: Annotated[str | None, Query(pattern=r"^[0-9]{2}(\.[0-9]{2})?$")] = None,
    institution_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    region_code: RegionCodeQuery = None,
    title: Annotated[Title | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[DoctorSummary]:
    """Public: verified doctors; ``department`` includes its sub-specialties, ``q`` matches the
    name, its pinyin or pinyin initials."""
    result = await search.search_doctors(
        session,
        actor,
        department=department,
        institution_id=institution_id,
        region_code=region_code,
        title=title,
        q=q,
        page=page,
        page_size=page_size,
    )
    return Page[DoctorSummary].model_validate(result)


@router.get("/doctors/{practitioner_id}", response_model=DoctorProfile)
async def get_doctor(
    practitioner_id: RecordId, session: DbSession, actor: PublicActor
) -> DoctorProfile:
    """Public: a verified doctor's profile."""
    view = await search.get_doctor_profile(session, actor, practitioner_id=practitioner_id)
    return DoctorProfile.model_validate(view)
