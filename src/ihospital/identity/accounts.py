"""Accounts: creation (sign-up, staff, command line) and profile preferences."""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.models import ROLES, Account
from ihospital.security.passwords import hash_password

MOBILE_PATTERN = re.compile(r"^1[3-9][0-9]{9}\Z")  # ASCII digits only: one number, one spelling
STAFF_ROLES = frozenset({"doctor", "pharmacist", "nurse", "institution_admin"})
LANGUAGES = ("zh-CN", "en")
# Letters and digits of any script, with spaces, dots, hyphens and underscores between them.
DISPLAY_NAME_PATTERN = re.compile(r"^[^\W_](?:[\w .·\-]{0,30}[^\W_])?$")


MOBILE_MESSAGE = "Enter an 11-digit mainland China mobile number."
PASSWORD_MESSAGE = "The password must be 8 to 128 characters with both letters and digits."  # noqa: S105  (a message, not a secret)
DISPLAY_NAME_MESSAGE = (
    "Enter a name of 1 to 32 letters or digits (spaces, dots and hyphens may separate them)."
)
LANGUAGE_MESSAGE = "Choose a language: zh-CN or en."


def validate_mobile(mobile: str) -> str:
    """A mainland China mobile number: 11 digits starting 13–19 (for Pydantic validators)."""
    if not MOBILE_PATTERN.match(mobile):
        raise ValueError(MOBILE_MESSAGE)
    return mobile


def validate_password(password: str) -> str:
    """8–128 characters with letters and digits (for Pydantic validators)."""
    if not (8 <= len(password) <= 128) or not (
        re.search(r"[A-Za-z]", password) and re.search(r"\d", password)
    ):
        raise ValueError(PASSWORD_MESSAGE)
    return password


def mask_mobile(mobile: str) -> str:
    """``138****5678``: how a mobile number appears in logs, audit details and to others."""
    return f"{mobile[:3]}****{mobile[-4:]}"


def validate_display_name(display_name: str) -> str:
    """1–32 letters or digits of any script, separated by spaces, dots, hyphens or underscores."""
    display_name = display_name.strip()
    if not DISPLAY_NAME_PATTERN.match(display_name):
        raise ValueError(DISPLAY_NAME_MESSAGE)
    return display_name


async def create_account(
    session: AsyncSession,
    actor: Actor,
    *,
    mobile: str,
    password: str,
    role: str,
    display_name: str,
    institution_id: int | None = None,
    region_code: str | None = None,
    mobile_verified: bool = False,
) -> Account:
    """Create an account. Staff roles belong to an institution; the mobile number is unique."""
    if role not in ROLES:
        raise Unprocessable("identity.role_unknown", "The role {role} does not exist.", role=role)
    if role in STAFF_ROLES and institution_id is None:
        raise Unprocessable(
            "identity.staff_needs_institution", "A staff account must belong to an institution."
        )
    if not MOBILE_PATTERN.match(mobile):
        raise Unprocessable("identity.mobile_invalid", MOBILE_MESSAGE, field="mobile")
    try:
        display_name = validate_display_name(display_name)
    except ValueError:
        raise Unprocessable(
            "identity.display_name_invalid", DISPLAY_NAME_MESSAGE, field="display_name"
        ) from None
    try:
        validate_password(password)
    except ValueError:
        raise Unprocessable("identity.password_weak", PASSWORD_MESSAGE, field="password") from None
    existing = await session.scalar(select(Account.id).where(Account.mobile == mobile))
    if existing is not None:
        raise Conflict(
            "identity.mobile_taken",
            "The mobile number {mobile} is already registered.",
            mobile=mobile,
        )
    now = actor.clock.now()
    account = Account(
        mobile=mobile,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        institution_id=institution_id,
        region_code=region_code,
        elder_mode=False,
        is_active=True,
        failed_logins=0,
        mobile_verified_at=now if mobile_verified else None,
        created_at=now,
    )
    session.add(account)
    await session.flush()
    await record(
        session,
        actor,
        action="account.create",
        subject_type="account",
        subject_id=account.id,
        details={"role": role, "institution_id": institution_id},
    )
    return account


async def get_own_account(session: AsyncSession, actor: Actor) -> Account:
    """The signed-in actor's own account."""
    account = await session.get(Account, actor.account_id) if actor.account_id else None
    if account is None or not account.is_active:
        raise NotFound("identity.account_not_found", "This account does not exist.")
    return account


async def update_preferences(
    session: AsyncSession,
    actor: Actor,
    *,
    language: str | None = None,
    elder_mode: bool | None = None,
    display_name: str | None = None,
) -> Account:
    """Change the actor's own language, 长辈模式 and display name; ``None`` keeps a value."""
    account = await get_own_account(session, actor)
    changes: dict[str, object] = {}
    if language is not None:
        if language not in LANGUAGES:
            raise Unprocessable("identity.language_unknown", LANGUAGE_MESSAGE, field="language")
        changes["language"] = language
    if display_name is not None:
        try:
            changes["display_name"] = validate_display_name(display_name)
        except ValueError:
            raise Unprocessable(
                "identity.display_name_invalid", DISPLAY_NAME_MESSAGE, field="display_name"
            ) from None
    if elder_mode is not None:
        changes["elder_mode"] = elder_mode
    changes = {key: value for key, value in changes.items() if getattr(account, key) != value}
    if not changes:
        return account
    for key, value in changes.items():
        setattr(account, key, value)
    await session.flush()
    await record(
        session,
        actor,
        action="account.update",
        subject_type="account",
        subject_id=account.id,
        details=changes,
    )
    return account


async def get_account(session: AsyncSession, actor: Actor, *, account_id: int) -> Account:
    """Any account by id, for other services (the notifications worker reads the mobile number
    and language of a recipient). Callers decide whether ``actor`` may know about it."""
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("identity.account_not_found", "This account does not exist.")
    return account


async def count_accounts(session: AsyncSession) -> int:
    """How many accounts exist (the demo loads its data into a database that has none)."""
    return await session.scalar(select(func.count()).select_from(Account)) or 0


async def staff_account_ids(session: AsyncSession, *, institution_id: int, role: str) -> list[int]:
    """The active accounts of ``role`` at the institution (whom its notices go to)."""
    rows = await session.scalars(
        select(Account.id)
        .where(
            Account.institution_id == institution_id,
            Account.role == role,
            Account.is_active.is_(True),
        )
        .order_by(Account.id)
    )
    return list(rows)


async def account_names(session: AsyncSession, account_ids: Collection[int]) -> dict[int, str]:
    """Public: the display names of the given accounts by id, in one query, for the records of
    other domains that show who did something (supervision's case timelines)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(Account.id, Account.display_name).where(Account.id.in_(set(account_ids)))
    )
    return {account_id: name for account_id, name in rows.all()}
