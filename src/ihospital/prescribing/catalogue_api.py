"""JSON routes of the drug catalogue: search and one drug for prescribers and pharmacists
(never patients, R08), and the platform admin's CSV import and (de)activation.

The import reads its body itself, after the caller is known, within its own body limit
(:func:`import_body_limits`: the request middleware stops reading just past it)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from ihospital.config import Settings
from ihospital.core.context import Actor
from ihospital.core.middleware import BodyLimit
from ihospital.core.schemas import Page
from ihospital.deps import DbSession, require
from ihospital.errors import PayloadTooLarge, Unprocessable
from ihospital.prescribing.catalogue import (
    MAX_PAGE_SIZE,
    DrugFilters,
    ImportResult,
    get_drug,
    import_drugs,
    search_drugs,
    set_drug_active,
)
from ihospital.prescribing.catalogue_import import MAX_REPORTED
from ihospital.prescribing.catalogue_schemas import (
    DrugActiveUpdate,
    DrugRead,
    ImportResultRead,
)
from ihospital.prescribing.models import INSURANCE_CLASSES, SPECIAL_CLASSES
from ihospital.security.permissions import Permission

IMPORT_PATH = "/api/admin/drugs/import"
IMPORT_PAGE_PATH = "/admin/drugs/import"
MULTIPART_ALLOWANCE = 64 * 1024
FILE_MISSING_MESSAGE = "Choose a CSV file of the drug catalogue (form field file)."
router = APIRouter(prefix="/api", tags=["drug catalogue"])

Reader = Annotated[Actor, Depends(require(Permission.DRUGS_READ))]
Manager = Annotated[Actor, Depends(require(Permission.DRUGS_MANAGE))]
DrugId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
SpecialClass = Literal[SPECIAL_CLASSES]  # type: ignore[valid-type]
InsuranceClass = Literal[INSURANCE_CLASSES]  # type: ignore[valid-type]
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def file_too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "drugs.file_too_large",
        "A catalogue file may be at most {limit_mb} MB.",
        limit_mb=max_bytes // (1024 * 1024),
        field="file",
    )


def import_body_limits(settings: Settings) -> dict[str, BodyLimit]:
    """The body limit of the import route and of the page's import form."""
    limit = BodyLimit(
        settings.drugs_import_max_bytes + MULTIPART_ALLOWANCE,
        file_too_large(settings.drugs_import_max_bytes),
    )
    return {IMPORT_PATH: limit, IMPORT_PAGE_PATH: limit}


async def import_upload(request: Request, session: AsyncSession, actor: Actor) -> ImportResult:
    """Import the CSV file of the multipart field ``file`` (the API and the page share it)."""
    # End the sign-in's transaction before a 10 MB body arrives: no transaction waits on the
    # network (on SQLite every transaction holds the one write lock).
    await session.commit()
    max_bytes = request.app.state.settings.drugs_import_max_bytes
    form = await request.form(max_files=1, max_fields=2)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Unprocessable("drugs.file_missing", FILE_MISSING_MESSAGE, field="file")
        data = await upload.read(max_bytes + 1)
    finally:
        await form.close()
    if len(data) > max_bytes:
        raise file_too_large(max_bytes)
    return await import_drugs(session, actor, data=data)


@router.get("/drugs")
async def search(
    session: DbSession,
    actor: Reader,
    q: Annotated[str, Query(max_length=64)] = "",
    special_class: SpecialClass | None = None,
    insurance_class: InsuranceClass | None = None,
    prescription_only: bool | None = None,
    antimicrobial: bool | None = None,
    cold_chain: bool | None = None,
    include_inactive: bool = False,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[DrugRead]:
    """Search the drug catalogue by Chinese or English name, brand, ingredient, pinyin or its
    initials (``aldp``), national code or ATC code, with filters; active drugs only unless
    ``include_inactive``. For prescribers and pharmacists; patients never browse drugs (R08)."""
    filters = DrugFilters(
        q=q,
        special_class=special_class,
        insurance_class=insurance_class,
        prescription_only=prescription_only,
        antimicrobial=antimicrobial,
        cold_chain=cold_chain,
        include_inactive=include_inactive,
    )
    result = await search_drugs(session, actor, filters=filters, page=page, page_size=page_size)
    return Page[DrugRead].model_validate(result)


@router.get("/drugs/{drug_id}")
async def read(drug_id: DrugId, session: DbSession, actor: Reader) -> DrugRead:
    """One drug of the catalogue, active or withdrawn."""
    return DrugRead.model_validate(await get_drug(session, actor, drug_id=drug_id))


@router.post(
    "/admin/drugs/import",
    openapi_extra=IMPORT_BODY,
    responses={
        413: {"description": "The file is larger than IHOSPITAL_DRUGS_IMPORT_MAX_BYTES."},
        415: {"description": "The file is not CSV text."},
        422: {
            "description": "Bad rows: ``errors`` lists each bad value's line, column and "
            f"message (at most {MAX_REPORTED}; ``error_count`` is the number of all); nothing "
            "was imported."
        },
    },
)
async def import_catalogue(
    request: Request, session: DbSession, actor: Manager
) -> ImportResultRead:
    """Platform admins: import a drug catalogue CSV (multipart field ``file``, UTF-8 or GBK),
    adding new national codes and updating known ones. Any bad row refuses the whole file."""
    return ImportResultRead.model_validate(await import_upload(request, session, actor))


@router.patch("/admin/drugs/{drug_id}")
async def update_active(
    drug_id: DrugId, body: DrugActiveUpdate, session: DbSession, actor: Manager
) -> DrugRead:
    """Platform admins: withdraw a drug from the catalogue or bring it back."""
    drug = await set_drug_active(session, actor, drug_id=drug_id, active=body.active)
    return DrugRead.model_validate(drug)
