"""R05: who may give online medical services where.

A doctor may serve online at an institution only when (办法 Art.25, 细则):
the credentials are verified; they have at least 3 full years of independent practice; the
institution is a licensed internet hospital with a licence that has not expired; and, at an
institution other than the one they are registered with, their practice there is filed
(多点执业) and the registered institution has consented to online service there.

:func:`assess` is the rule itself, on loaded rows (so search pages can apply it to many doctors
without more queries); :func:`online_service_eligibility` and :func:`require_online_service` are
the seams other domains call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.core.ids import age_on
from ihospital.directory.access import get_institution_row, practitioner_not_found
from ihospital.directory.models import Institution, PracticeSite, Practitioner
from ihospital.errors import RuleViolation

MIN_PRACTICE_YEARS = 3

REASON_MESSAGES = {
    "not_verified": "The doctor's credentials are not verified.",
    "practice_under_3_years": (
        "The doctor has fewer than 3 full years of independent practice; "
        "online services need at least 3."
    ),
    "not_internet_hospital": "The institution is not a licensed internet hospital.",
    "licence_expired": "The institution's internet hospital licence has expired.",
    "not_a_practice_site": "The doctor is not registered to practise at this institution.",
    "no_filing": "The doctor's practice at this institution has not been filed (multi-site "
    "practice).",
    "no_consent": "The doctor's registered institution has not consented to online services at "
    "this institution.",
}


@dataclass(frozen=True)
class Reason:
    """Why online service is refused: a stable ``code`` and an English message id."""

    code: str
    message: str


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reasons: tuple[Reason, ...]


def years_of_practice(practice_start_date: date, today: date) -> int:
    """Full years of independent practice on ``today`` (never negative)."""
    return max(0, age_on(practice_start_date, today))


def licence_valid(institution: Institution, today: date) -> bool:
    """A licensed internet hospital whose licence runs at least until ``today`` (R14)."""
    expires_on = institution.internet_licence_expires_on
    return bool(
        institution.is_internet_hospital
        and institution.internet_licence_number
        and expires_on is not None
        and expires_on >= today
    )


def assess(
    practitioner: Practitioner,
    institution: Institution,
    sites_there: Sequence[PracticeSite],
    today: date,
) -> Eligibility:
    """R05 for one doctor at one institution; ``sites_there`` are the doctor's practice sites at
    that institution (needed only when it is not the registered institution)."""
    codes: list[str] = []
    if practitioner.verification_status != "verified":
        codes.append("not_verified")
    if years_of_practice(practitioner.practice_start_date, today) < MIN_PRACTICE_YEARS:
        codes.append("practice_under_3_years")
    if not institution.is_internet_hospital or not institution.internet_licence_number:
        codes.append("not_internet_hospital")
    elif not licence_valid(institution, today):
        codes.append("licence_expired")
    if institution.id != practitioner.institution_id:
        if not sites_there:
            codes.append("not_a_practice_site")
        else:
            if not any(site.filing_number for site in sites_there):
                codes.append("no_filing")
            if not any(site.consent_on_file for site in sites_there):
                codes.append("no_consent")
    reasons = tuple(Reason(code, REASON_MESSAGES[code]) for code in codes)
    return Eligibility(allowed=not reasons, reasons=reasons)


async def online_service_eligibility(
    session: AsyncSession, actor: Actor, *, practitioner_id: int, institution_id: int
) -> Eligibility:
    """Whether the doctor may give online services at the institution today, and if not, every
    reason why (R05). Dates are taken on the actor's clock in Asia/Shanghai."""
    practitioner = await session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise practitioner_not_found()
    institution = await get_institution_row(session, institution_id)
    sites = (
        await session.scalars(
            select(PracticeSite).where(
                PracticeSite.practitioner_id == practitioner_id,
                PracticeSite.institution_id == institution_id,
            )
        )
    ).all()
    return assess(practitioner, institution, sites, actor.clock.today_local())


SITE_REASONS = ("not_a_practice_site", "no_filing", "no_consent")


async def site_problems(
    session: AsyncSession, actor: Actor, *, practitioner_id: int, institution_id: int
) -> list[str]:
    """Why the doctor's practice at the institution is not registered today (R05: no practice
    site there, no 多点执业 filing, no consent of the registered institution); empty if it is."""
    eligibility = await online_service_eligibility(
        session, actor, practitioner_id=practitioner_id, institution_id=institution_id
    )
    return [reason.code for reason in eligibility.reasons if reason.code in SITE_REASONS]


async def require_online_service(
    session: AsyncSession, actor: Actor, *, practitioner_id: int, institution_id: int
) -> None:
    """Refuse with ``RuleViolation("R05")`` unless the doctor may serve online there (R05)."""
    eligibility = await online_service_eligibility(
        session, actor, practitioner_id=practitioner_id, institution_id=institution_id
    )
    if not eligibility.allowed:
        first = eligibility.reasons[0]
        raise RuleViolation(
            "R05",
            first.message,
            practitioner_id=practitioner_id,
            institution_id=institution_id,
            reasons=[reason.code for reason in eligibility.reasons],
        )
