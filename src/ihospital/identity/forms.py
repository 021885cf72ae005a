"""Turning refusals into what a form page shows: messages next to fields, or a notice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ihospital.core.i18n import translate
from ihospital.core.validation_messages import message_for
from ihospital.errors import AppError
from ihospital.web.flash import Notice

M = TypeVar("M", bound=BaseModel)


@dataclass
class FormState:
    """Errors by field name (translated), notices for the page, and the status to answer with."""

    errors: dict[str, str] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    status_code: int = 200

    def context(self) -> dict[str, Any]:
        return {"errors": self.errors, "notices": self.notices}


def parse_form(model: type[M], values: dict[str, Any]) -> tuple[M | None, FormState]:
    """Validate form values with an API schema; on failure, one message per field."""
    try:
        return model.model_validate(values), FormState()
    except ValidationError as error:
        state = FormState(status_code=422)
        for item in error.errors():
            name = str(item["loc"][0]) if item.get("loc") else ""
            message, fields = message_for(dict(item))
            state.errors.setdefault(name, translate(message, **fields))
        return None, state


def refused(error: AppError, *, fields: tuple[str, ...]) -> FormState:
    """Show a service's refusal next to its field when the form has it, else as a notice."""
    state = FormState(status_code=error.status)
    name = error.fields.get("field")
    if name in fields:
        state.errors[name] = translate(error.message, **error.fields)
    else:
        values = {key: str(value) for key, value in error.fields.items()}
        state.notices.append(Notice(error.message, "error", values))
    return state
