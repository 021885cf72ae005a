"""R05 through the seam other domains call: verified, three full years of practice on the day in
Asia/Shanghai, a licensed internet hospital, and at another site the registered institution's
consent (its filing number is required when the site is added)."""

from datetime import date

import pytest

from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.directory.eligibility import online_service_eligibility, require_online_service
from ihospital.directory.sites import SiteInput
from ihospital.errors import RuleViolation
from tests.conftest import START
from tests.directory.builders import make_doctor, make_institution

TODAY = date(2026, 11, 23)  # START (01:00 UTC) is 09:00 on this day in Shanghai


async def _reasons(session, clock, doctor, institution):
    eligibility = await online_service_eligibility(
        session, Actor.system(clock), practitioner_id=doctor.id, institution_id=institution.id
    )
    return [reason.code for reason in eligibility.reasons]


async def test_a_verified_doctor_with_years_of_practice_serves_online(session, clock):
    hospital = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=hospital)
    assert await _reasons(session, clock, doctor, hospital) == []
    await require_online_service(
        session, Actor.system(clock), practitioner_id=doctor.id, institution_id=hospital.id
    )


@pytest.mark.parametrize("status", ["draft", "pending", "rejected", "suspended"])
async def test_an_unverified_doctor_is_refused(session, clock, status):
    hospital = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=hospital, status=status)
    with pytest.raises(RuleViolation) as refused:
        await require_online_service(
            session, Actor.system(clock), practitioner_id=doctor.id, institution_id=hospital.id
        )
    assert refused.value.fields["reasons"] == ["not_verified"]


@pytest.mark.parametrize(
    ("start", "reasons"),
    [
        (date(2023, 11, 23), []),  # three full years today
        (date(2023, 11, 24), ["practice_under_3_years"]),  # tomorrow
        (date(2025, 7, 1), ["practice_under_3_years"]),
    ],
)
async def test_three_full_years_of_practice_counted_on_the_day(session, clock, start, reasons):
    hospital = await make_institution(session, clock=clock)
    doctor = await make_doctor(
        session, clock=clock, institution=hospital, practice_start_date=start
    )
    assert await _reasons(session, clock, doctor, hospital) == reasons


async def test_the_day_is_the_day_in_shanghai_not_in_utc(session, clock):
    hospital = await make_institution(session, clock=clock)
    doctor = await make_doctor(
        session, clock=clock, institution=hospital, practice_start_date=date(2023, 11, 24)
    )
    # 2026-11-23 16:30 UTC is already 11-24 00:30 in Shanghai: three full years there.
    late = FrozenClock(START.replace(hour=16, minute=30))
    assert await _reasons(session, late, doctor, hospital) == []


async def test_no_online_service_at_an_institution_without_a_valid_licence(session, clock):
    plain = await make_institution(session, clock=clock, internet=False)
    expired = await make_institution(session, clock=clock, licence_expires_on=date(2026, 11, 22))
    for institution, reason in ((plain, "not_internet_hospital"), (expired, "licence_expired")):
        doctor = await make_doctor(session, clock=clock, institution=institution)
        assert await _reasons(session, clock, doctor, institution) == [reason]


async def test_another_site_needs_the_registered_institutions_consent(session, clock):
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    stranger = await make_doctor(session, clock=clock, institution=home)
    assert await _reasons(session, clock, stranger, other) == ["not_a_practice_site"]
    without_consent = await make_doctor(
        session,
        clock=clock,
        institution=home,
        sites=[
            SiteInput(
                institution_id=other.id,
                department_code="03.04",
                filing_number="京多点执业备案 2026-0002",
            )
        ],
    )
    assert await _reasons(session, clock, without_consent, other) == ["no_consent"]
    filed = await make_doctor(
        session,
        clock=clock,
        institution=home,
        sites=[
            SiteInput(
                institution_id=other.id,
                department_code="03.04",
                filing_number="京多点执业备案 2026-0001",
                consent_on_file=True,
            )
        ],
    )
    assert await _reasons(session, clock, filed, other) == []
