"""Who is acting, from where, and on which clock: passed to every service call."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from ihospital.core.clock import Clock

request_id_var: ContextVar[str] = ContextVar("request_id", default="")


@dataclass(frozen=True)
class Actor:
    """The caller of a service function.

    ``account_id`` is None for anonymous callers (sign-up, login) and for the system (worker).
    ``institution_id`` is set for staff: doctors, pharmacists, nurses and institution admins.
    ``auth_session_id`` is the signed-in session (browser cookie or API token) the request came
    by, None outside a request; step-ups such as the doctor's working session (R04) are tied
    to it.
    """

    role: str
    clock: Clock = field(default_factory=Clock)
    account_id: int | None = None
    institution_id: int | None = None
    ip: str = ""
    request_id: str = ""
    region_code: str | None = None
    auth_session_id: int | None = None

    @classmethod
    def system(cls, clock: Clock, request_id: str = "") -> Actor:
        return cls(role="system", clock=clock, request_id=request_id)

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None
