"""JSON routes of medical insurance: the coverage of one of the account's 就诊人
(``/api/patients/{patient_id}/coverage``) and the insured regions the policy table knows.

Like the 就诊人 themselves, a coverage is seen and changed only by the account that manages the
就诊人; anyone else's 就诊人 is reported as not found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ihospital.billing.insurance.coverage import (
    add_coverage,
    end_coverage,
    get_coverage,
    update_coverage,
)
from ihospital.billing.insurance.models import Coverage
from ihospital.billing.insurance.policy import load_policy_table
from ihospital.billing.insurance.schemas import (
    CoverageCreate,
    CoverageRead,
    CoverageUpdate,
    RegionRead,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.identity.patients import KEEP
from ihospital.identity.patients_api import PatientId
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["insurance"])

Owner = Annotated[Actor, Depends(require(Permission.PATIENTS_OWN))]
COVERAGE = "/patients/{patient_id}/coverage"


def coverage_read(coverage: Coverage) -> CoverageRead:
    """``coverage`` with the pool of the policy table that settles it."""
    return CoverageRead.of(coverage, load_policy_table())


@router.get("/insurance/regions")
async def insured_regions() -> list[RegionRead]:
    """The pools whose bills can be settled online (a city's entry covers its districts, a
    province's its cities); coverage of any other region is paid as self-pay."""
    return [RegionRead.of(region) for region in load_policy_table().listed()]


@router.get(COVERAGE)
async def read_coverage(patient_id: PatientId, session: DbSession, actor: Owner) -> CoverageRead:
    """The active coverage of one of the account's 就诊人 (404 when it has none)."""
    return coverage_read(await get_coverage(session, actor, patient_id=patient_id))


@router.post(COVERAGE, status_code=201)
async def create_coverage(
    patient_id: PatientId, body: CoverageCreate, request: Request, session: DbSession, actor: Owner
) -> CoverageRead:
    """Record the 就诊人's medical insurance (one active coverage each; end it to change the
    type, the region or the number)."""
    coverage = await add_coverage(
        session,
        actor,
        patient_id=patient_id,
        insurance_type=body.insurance_type,
        region_code=body.region_code,
        insurance_number=body.insurance_number,
        account_balance_fen=body.account_balance,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        cipher=request.app.state.cipher,
    )
    return coverage_read(coverage)


@router.patch(COVERAGE)
async def change_coverage(
    patient_id: PatientId, body: CoverageUpdate, session: DbSession, actor: Owner
) -> CoverageRead:
    """Change the personal account balance or the period of validity."""
    sent = body.model_fields_set
    coverage = await update_coverage(
        session,
        actor,
        patient_id=patient_id,
        account_balance_fen=body.account_balance if "account_balance" in sent else KEEP,
        valid_from=body.valid_from if "valid_from" in sent else KEEP,
        valid_to=body.valid_to if "valid_to" in sent else KEEP,
    )
    return coverage_read(coverage)


@router.delete(COVERAGE, status_code=204)
async def remove_coverage(patient_id: PatientId, session: DbSession, actor: Owner) -> Response:
    """End the coverage; it stays on record with its settlements."""
    await end_coverage(session, actor, patient_id=patient_id)
    return Response(status_code=204)
