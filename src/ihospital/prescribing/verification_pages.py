"""The public prescription verification page (处方查验) that the QR code on a printed
prescription opens: the number and verification code in the query (or typed into its form), the
answer in plain words — genuine or why not (R06), the status with R16 applied, and the masked
details a pharmacy compares with the paper. No sign-in; rate limited per client IP.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ihospital.core.context import Actor
from ihospital.core.i18n import gettext
from ihospital.deps import DbSession, optional_actor
from ihospital.prescribing.verification import (
    ENCOUNTER_MESSAGES,
    REASON_MESSAGES,
    STATUS_MESSAGES,
    VERIFY_PATH,
    unknown_for_verification,
    verify_public,
)
from ihospital.prescribing.verification_api import admit_verification
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")
CODE = re.compile(r"[A-Za-z0-9 -]{1,20}")
ENTRY_MESSAGE = "Enter the prescription number and the verification code printed under its QR code."


@router.get(VERIFY_PATH)
async def verification_page(
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(optional_actor)],
    number: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The form, and with a number and code the answer (404 when none matches)."""
    number, code = number.strip(), code.strip()
    context = {
        "number": number,
        "code": code,
        "verification": None,
        "error": None,
        "reason_messages": REASON_MESSAGES,
        "status_messages": STATUS_MESSAGES,
        "encounter_messages": ENCOUNTER_MESSAGES,
    }
    if not number and not code:
        return render(request, "prescribing/verify.html", context)
    if not (NUMBER.fullmatch(number) and CODE.fullmatch(code)):
        context["error"] = gettext(ENTRY_MESSAGE)
        return render(request, "prescribing/verify.html", context, status_code=422)
    await admit_verification(request)
    context["verification"] = await verify_public(session, actor, number=number, code=code)
    if context["verification"] is None:
        context["error"] = gettext(unknown_for_verification().message)
        return render(request, "prescribing/verify.html", context, status_code=404)
    return render(request, "prescribing/verify.html", context)
