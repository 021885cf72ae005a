"""The new-session form of the schedule pages — the admins' editor and a doctor's own schedule:
read as the page shows it again and validated with the API schema."""

from __future__ import annotations

from typing import Any

from fastapi import Request

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


async def session_form(
    request: Request, *, fixed: dict[str, str] | None = None
) -> tuple[dict[str, Any], SessionCreate | None, FormState]:
    """The new-session form as the page shows it again, and as the API schema validates it: a
    one-off session has a day, a weekly one a period and weekdays; the fee comes in yuan.
    ``fixed`` values are the page's, not the form's (a doctor schedules themselves)."""
    form = await request.form()
    values: dict[str, Any] = await form_text(request, (*SESSION_FIELDS, *WEEKLY_FIELDS, "kind"))
    values.update(fixed or {})
    values["weekdays"] = [str(day) for day in form.getlist("weekdays")]
    data: dict[str, Any] = {name: values[name] for name in SESSION_FIELDS}
    if values["kind"] == "weekly":
        data["day"] = None
        recurrence = {name: values[name] for name in WEEKLY_FIELDS}
        data["recurrence"] = {**recurrence, "weekdays": values["weekdays"]}
    fee_error = None
    try:
        data["fee_fen"] = parse_yuan(values["fee_fen"])
    except InvalidAmount:
        fee_error = FEE_FORMAT_MESSAGE
    parsed, state = parse_form(SessionCreate, data)
    if "recurrence" in state.errors:
        state.errors["weekdays"] = state.errors.pop("recurrence")
    if "" in state.errors:  # neither a day nor a weekly period
        state.errors["day"] = state.errors.pop("")
    if fee_error:
        state = FormState({**state.errors, "fee_fen": translate(fee_error)}, status_code=422)
        parsed = None
    return values, parsed, state
