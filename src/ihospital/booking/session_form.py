"""The new-session form of the schedule pages — the admins' editor and a doctor's own schedule:
read as the page shows it again and validated with the API schema."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel

from ihospital.booking.schemas import SessionCreate
from ihospital.core.i18n import translate
from ihospital.core.money import InvalidAmount, parse_yuan
from ihospital.directory.pages_support import form_text
from ihospital.identity.forms import FormState, parse_form

SESSION_FIELDS = (
    "practitioner_id",
    "department_code",
    "day",
    "half_day",
    "start_time",
    "end_time",
    "visit_type",
    "fee_class",
    "fee_fen",
    "capacity",
    "slot_minutes",
)
WEEKLY_FIELDS = ("start", "until")
SESSION_FORM_FIELDS = (*SESSION_FIELDS, *WEEKLY_FIELDS, "weekdays")  # where refusals are shown
EDITOR_DAYS = 30  # the schedule pages show the sessions of this many days ahead
FEE_FORMAT_MESSAGE = "Enter the fee in yuan, e.g. 50 or 12.50."
M = TypeVar("M", bound=BaseModel)


async def session_form_values(
    request: Request, fields: tuple[str, ...], *, fixed: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new-session form (of a doctor's or a resource's sessions) as the page shows it again,
    and its ``fields`` as the API schema takes them: a one-off session has a day, a weekly one
    a period and weekdays. ``fixed`` values are the page's, not the form's (a doctor schedules
    themselves)."""
    form = await request.form()
    values: dict[str, Any] = await form_text(request, (*fields, *WEEKLY_FIELDS, "kind"))
    values.update(fixed or {})
    values["weekdays"] = [str(day) for day in form.getlist("weekdays")]
    data: dict[str, Any] = {name: values[name] for name in fields}
    if values["kind"] == "weekly":
        data["day"] = None
        recurrence = {name: values[name] for name in WEEKLY_FIELDS}
        data["recurrence"] = {**recurrence, "weekdays": values["weekdays"]}
    return values, data


def parse_session_form(schema: type[M], data: dict[str, Any]) -> tuple[M | None, FormState]:
    """Validate a new-session form, with the errors of its days next to the fields shown."""
    parsed, state = parse_form(schema, data)
    if "recurrence" in state.errors:
        state.errors["weekdays"] = state.errors.pop("recurrence")
    if "" in state.errors:  # neither a day nor a weekly period
        state.errors["day"] = state.errors.pop("")
    return parsed, state


async def session_form(
    request: Request, *, fixed: dict[str, str] | None = None
) -> tuple[dict[str, Any], SessionCreate | None, FormState]:
    """The new doctor's session form; the fee comes in yuan."""
    values, data = await session_form_values(request, SESSION_FIELDS, fixed=fixed)
    fee_error = None
    try:
        data["fee_fen"] = parse_yuan(values["fee_fen"])
    except InvalidAmount:
        fee_error = FEE_FORMAT_MESSAGE
    parsed, state = parse_session_form(SessionCreate, data)
    if fee_error:
        state = FormState({**state.errors, "fee_fen": translate(fee_error)}, status_code=422)
        parsed = None
    return values, parsed, state
