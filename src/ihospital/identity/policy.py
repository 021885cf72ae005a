"""The sign-in rules an operator may tune, read once from the settings and passed to services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ihospital.config import Settings


@dataclass(frozen=True)
class AuthPolicy:
    """Limits of sign-up and login.

    ``sms_step_after_failures``: after this many consecutive wrong passwords the next login also
    needs a login SMS code; ``login_max_failures`` of them lock the account for
    ``lockout_minutes``. SMS codes may be requested once per ``sms_resend_seconds`` and
    ``sms_daily_limit`` times per mobile number and (Asia/Shanghai) day.
    """

    login_max_failures: int = 5
    lockout_minutes: int = 15
    sms_step_after_failures: int = 2
    sms_code_minutes: int = 5
    sms_code_max_attempts: int = 5
    sms_resend_seconds: int = 60
    sms_daily_limit: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthPolicy:
        return cls(
            login_max_failures=settings.login_max_failures,
            lockout_minutes=settings.login_lockout_minutes,
            sms_code_minutes=settings.sms_code_minutes,
            sms_code_max_attempts=settings.sms_code_max_attempts,
        )


def auth_policy(request: Request) -> AuthPolicy:
    """Route dependency: the policy of the running application."""
    return AuthPolicy.from_settings(request.app.state.settings)


Policy = Annotated[AuthPolicy, Depends(auth_policy)]
