"""The patient's prescription pages ("my prescriptions"): the prescriptions of the account's
就诊人, the drugs and validity of the approved ones with the button to buy them, and a line for
those still being reviewed or revised. In 长辈模式 the same pages show large type with the
buy button first and the details (codes, doctor) hidden."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.prescribing.patient_prescriptions import my_prescription, my_prescriptions
from ihospital.prescribing.verification import verification_path
from ihospital.security.permissions import Permission
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

Patient = Annotated[Actor, Depends(require(Permission.PRESCRIPTIONS_OWN))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
STATE_MESSAGES = {
    "under_review": "A pharmacist is reviewing this prescription.",
    "being_revised": "The doctor is revising this prescription.",
    "valid": "Approved",
    "expired": "Expired",
    "filled": "Filled",
}


@router.get("/prescriptions")
async def list_page(request: Request, session: DbSession, actor: Patient) -> Response:
    """The prescriptions of the account's 就诊人, newest first."""
    context = {"views": await my_prescriptions(session, actor), "states": STATE_MESSAGES}
    return render(request, "prescribing/patient_list.html", context)


@router.get("/prescriptions/{prescription_id}")
async def detail_page(
    prescription_id: Id, request: Request, session: DbSession, actor: Patient
) -> Response:
    """One prescription of the account's 就诊人 (another's is not found)."""
    view = await my_prescription(session, actor, prescription_id=prescription_id)
    context = {
        "view": view,
        "states": STATE_MESSAGES,
        "verify_path": verification_path(view.prescription),
    }
    return render(request, "prescribing/patient_detail.html", context)
