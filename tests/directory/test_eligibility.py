"""R05: who may give online medical services where (directory/eligibility.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ihospital.core.clock import FrozenClock
from ihospital.directory.eligibility import (
    assess,
    online_service_eligibility,
    require_online_service,
)
from ihospital.directory.models import PracticeSite, Practitioner
from ihospital.directory.sites import SiteInput
from ihospital.errors import RuleViolation, Unprocessable
from tests.directory.builders import make_doctor, make_institution, system


async def _codes(session, clock, doctor, institution) -> list[str]:  # noqa: ANN001
    eligibility = await online_service_eligibility(
        session, system(clock), practitioner_id=doctor.id, institution_id=institution.id
    )
    assert eligibility.allowed is (not eligibility.reasons)
    return [reason.code for reason in eligibility.reasons]


async def test_a_verified_experienced_doctor_at_a_licensed_hospital_is_eligible(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution)

    await require_online_service(
        session, system(clock), practitioner_id=doctor.id, institution_id=institution.id
    )
    profile = await client.get(f"/api/doctors/{doctor.id}")

    assert await _codes(session, clock, doctor, institution) == []
    assert profile.json()["online_available"] is True


@pytest.mark.parametrize("status", ["draft", "pending", "rejected", "suspended"])
async def test_an_unverified_doctor_is_not_eligible(session, clock, status) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution, status=status)

    with pytest.raises(RuleViolation) as refused:
        await require_online_service(
            session, system(clock), practitioner_id=doctor.id, institution_id=institution.id
        )

    assert refused.value.code == "rule.R05"
    assert refused.value.fields["reasons"] == ["not_verified"]


async def test_under_3_years_of_practice_is_not_eligible(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(
        session, clock=clock, institution=institution, practice_start_date=date(2024, 6, 1)
    )

    profile = (await client.get(f"/api/doctors/{doctor.id}")).json()

    assert await _codes(session, clock, doctor, institution) == ["practice_under_3_years"]
    assert (profile["years_of_practice"], profile["online_available"]) == (2, False)


@pytest.mark.parametrize(
    ("start", "moment", "eligible"),
    [
        # 2026-11-22 16:30 UTC is already 2026-11-23 in Shanghai: 3 full years that day.
        (date(2023, 11, 23), datetime(2026, 11, 22, 16, 30, tzinfo=UTC), True),
        (date(2023, 11, 23), datetime(2026, 11, 22, 15, 30, tzinfo=UTC), False),
        (date(2023, 11, 24), datetime(2026, 11, 23, 15, 59, tzinfo=UTC), False),
        (date(2023, 11, 24), datetime(2026, 11, 23, 16, 0, tzinfo=UTC), True),
    ],
)
async def test_exactly_3_years_counts_on_the_shanghai_date(
    session, clock: FrozenClock, start, moment, eligible
) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(
        session, clock=clock, institution=institution, practice_start_date=start
    )
    clock.set(moment)

    codes = await _codes(session, clock, doctor, institution)

    assert codes == ([] if eligible else ["practice_under_3_years"])


async def test_an_institution_that_is_not_an_internet_hospital(session, clock) -> None:
    institution = await make_institution(session, clock=clock, internet=False)
    doctor = await make_doctor(session, clock=clock, institution=institution)

    assert await _codes(session, clock, doctor, institution) == ["not_internet_hospital"]


@pytest.mark.parametrize(
    ("expires_on", "codes"),
    [(date(2026, 11, 23), []), (date(2026, 11, 22), ["licence_expired"])],
)
async def test_the_licence_must_run_until_today(session, clock, expires_on, codes) -> None:
    institution = await make_institution(session, clock=clock, licence_expires_on=expires_on)
    doctor = await make_doctor(session, clock=clock, institution=institution)

    assert await _codes(session, clock, doctor, institution) == codes


async def test_every_reason_is_reported(session, clock) -> None:
    institution = await make_institution(session, clock=clock, licence_expires_on=date(2026, 1, 1))
    doctor = await make_doctor(
        session,
        clock=clock,
        institution=institution,
        status="pending",
        practice_start_date=date(2025, 1, 1),
    )

    with pytest.raises(RuleViolation) as refused:
        await require_online_service(
            session, system(clock), practitioner_id=doctor.id, institution_id=institution.id
        )

    assert refused.value.fields["reasons"] == [
        "not_verified",
        "practice_under_3_years",
        "licence_expired",
    ]


@pytest.mark.parametrize(("consent", "codes"), [(True, []), (False, ["no_consent"])])
async def test_another_site_needs_the_registered_institutions_consent(
    session, clock, consent, codes
) -> None:
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    site = SiteInput(
        institution_id=other.id,
        department_code="03.04",
        filing_number="京卫多点备案001",
        consent_on_file=consent,
    )
    doctor = await make_doctor(session, clock=clock, institution=home, sites=[site])

    assert await _codes(session, clock, doctor, other) == codes
    assert await _codes(session, clock, doctor, home) == []


async def test_an_institution_that_is_not_a_practice_site(session, clock) -> None:
    home = await make_institution(session, clock=clock)
    elsewhere = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=home)

    assert await _codes(session, clock, doctor, elsewhere) == ["not_a_practice_site"]


async def test_another_site_cannot_be_added_without_its_filing(session, clock) -> None:
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    site = SiteInput(institution_id=other.id, department_code="03.04", consent_on_file=True)

    with pytest.raises(Unprocessable) as refused:
        await make_doctor(session, clock=clock, institution=home, sites=[site])

    assert refused.value.fields["field"] == "practice_sites.0.filing_number"


async def test_a_site_without_filing_is_not_eligible(session, clock) -> None:
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    view = await make_doctor(session, clock=clock, institution=home)
    practitioner = await session.get(Practitioner, view.id)
    unfiled = PracticeSite(
        practitioner_id=view.id,
        institution_id=other.id,
        department_code="03.04",
        filing_number="",
        consent_on_file=True,
    )

    result = assess(practitioner, other, [unfiled], clock.today_local())

    assert [reason.code for reason in result.reasons] == ["no_filing"]
    assert not result.allowed
