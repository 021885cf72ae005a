"""The regulator's page of the reporting feed (数据上报): lag, counts, the pusher's last success
and error, and the rejected records with a re-queue button (no JavaScript needed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import Conflict
from ihospital.security.permissions import Permission
from ihospital.supervision.reporting.overview import feed_overview, requeue_record
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/regulator/reporting-feed"
Supervisor = Annotated[Actor, Depends(require(Permission.REPORTING_FEED))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
KIND_MESSAGES = {
    "consultation": "Consultation",
    "prescription": "Prescription",
    "prescription_review": "Prescription review",
    "medical_record": "Medical record",
    "alert": "Supervision alert",
}
REQUEUED_MESSAGE = "Record {key} is queued to be sent again."


@router.get(PAGE)
async def feed_page(request: Request, session: DbSession, actor: Supervisor) -> Response:
    """The feed's lag and failures in the reader's region."""
    overview = await feed_overview(session, actor)
    lag = None if overview.lag_seconds is None else timedelta(seconds=overview.lag_seconds)
    context = {"overview": overview, "lag": lag, "kinds": KIND_MESSAGES}
    return render(request, "reporting/feed.html", context)


@router.post(f"{PAGE}/records/{{record_id}}/requeue", dependencies=[Depends(check_csrf)])
async def requeue_submit(
    record_id: RecordId, request: Request, session: DbSession, actor: Supervisor
) -> Response:
    """Re-queue a rejected record, then back to the feed with a notice."""
    response = RedirectResponse(PAGE, status_code=303)
    try:
        found = await requeue_record(session, actor, record_id=record_id)
    except Conflict as error:
        flash(request, response, error.message, kind="error", **error.fields)
    else:
        flash(request, response, REQUEUED_MESSAGE, key=found.idempotency_key)
    return response
