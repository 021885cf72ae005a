"""Public directory pages: find a doctor, a doctor's profile, an institution.

The search form is a plain GET form, so filtering and paging work without JavaScript. Admin and
doctor pages live in :mod:`.admin_pages` and :mod:`.profile_pages` and are mounted here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from ihospital.consultation.reviews.reading import doctor_rating
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.deps import DbSession, optional_actor
from ihospital.directory import admin_pages, profile_pages
from ihospital.directory.departments import list_department_codes
from ihospital.directory.institutions import get_institution
from ihospital.directory.search import get_doctor_profile, search_doctors
from ihospital.directory.views import PageResult
from ihospital.errors import AppError
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(admin_pages.router)
router.include_router(profile_pages.router)

PublicActor = Annotated[Actor, Depends(optional_actor)]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SEARCH_PAGE_SIZE = 20
FILTERS = ("q", "department", "title", "region_code", "institution_id")


def _whole_number(value: str, default: int | None) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 12 else default


def page_links(path: str, query: dict[str, Any], result: PageResult[Any]) -> dict[str, Any]:
    """Previous/next and numbered links around the current page, keeping the filters."""

    def url(number: int) -> str:
        kept = {key: value for key, value in query.items() if value not in ("", None)}
        return f"{path}?{urlencode({**kept, 'page': number})}"

    first = max(1, result.page - 3)
    last = min(result.pages, result.page + 3)
    return {
        "previous": url(result.page - 1) if result.page > 1 else None,
        "next": url(result.page + 1) if result.page < result.pages else None,
        "numbers": [(number, url(number)) for number in range(first, last + 1)],
        "current": result.page,
        "pages": result.pages,
    }


@router.get("/doctors")
async def doctors_page(
    request: Request,
    session: DbSession,
    actor: PublicActor,
    q: str = "",
    department: str = "",
    title: str = "",
    region_code: str = "",
    institution_id: str = "",
    page: str = "1",
) -> Response:
    """Public: find a doctor by name (or pinyin), department, title, region or hospital."""
    filters = {
        "q": q.strip()[:64],
        "department": department.strip()[:8],
        "title": title.strip()[:16],
        "region_code": region_code.strip()[:6],
        "institution_id": _whole_number(institution_id, None),
    }
    errors: dict[str, str] = {}
    try:
        result = await search_doctors(
            session,
            actor,
            q=filters["q"] or None,
            department=filters["department"] or None,
            title=filters["title"] or None,
            region_code=filters["region_code"] or None,
            institution_id=filters["institution_id"],
            page=_whole_number(page, 1) or 1,
            page_size=SEARCH_PAGE_SIZE,
        )
    except AppError as error:
        errors[str(error.fields.get("field", "q"))] = translate(error.message, **error.fields)
        result = PageResult([], 0, 1, SEARCH_PAGE_SIZE)
    context = {
        "filters": filters,
        "errors": errors,
        "result": result,
        "departments": await list_department_codes(session, actor),
        "links": page_links("/doctors", filters, result),
    }
    return render(request, "directory/search.html", context, status_code=422 if errors else 200)


@router.get("/doctors/{practitioner_id}")
async def doctor_page(
    practitioner_id: RecordId, request: Request, session: DbSession, actor: PublicActor
) -> Response:
    """Public: a verified doctor's profile."""
    doctor = await get_doctor_profile(session, actor, practitioner_id=practitioner_id)
    rating = await doctor_rating(session, practitioner_id=practitioner_id)
    return render(request, "directory/doctor.html", {"doctor": doctor, "rating": rating})


@router.get("/institutions/{institution_id}")
async def institution_page(
    institution_id: RecordId, request: Request, session: DbSession, actor: PublicActor
) -> Response:
    """Public: an institution, its departments and its consortium (医联体)."""
    institution = await get_institution(session, actor, institution_id=institution_id)
    return render(request, "directory/institution.html", {"institution": institution})
