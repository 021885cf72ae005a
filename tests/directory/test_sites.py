"""Practice sites (多点执业): the primary site at the registered institution and filed sites
elsewhere, replaced as a whole by the doctor's institution and audited (R05)."""

from __future__ import annotations

import pytest

from ihospital.directory.eligibility import online_service_eligibility
from tests.directory.builders import make_doctor, make_institution, system
from tests.directory.support import audit_trail, headers_of
from tests.security.test_bad_input import LANGUAGES, counts, headers_in


async def _setup(session, clock):  # noqa: ANN001, ANN202
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock, region_code="420106")
    doctor = await make_doctor(session, clock=clock, institution=home)
    headers = await headers_of(session, clock=clock, role="institution_admin", institution=home)
    return home, other, doctor, headers


async def test_sites_are_replaced_audited_and_searchable(session, clock, client) -> None:
    home, other, doctor, headers = await _setup(session, clock)
    body = {
        "department_code": "03",
        "practice_sites": [
            {
                "institution_id": other.id,
                "department_code": "03.04",
                "filing_number": "鄂卫多点2026-018",
                "consent_on_file": True,
            },
            {"institution_id": home.id, "department_code": "07", "consent_on_file": True},
        ],
    }

    response = await client.put(f"/api/practitioners/{doctor.id}/sites", json=body, headers=headers)
    found = await client.get("/api/doctors", params={"institution_id": other.id})
    eligibility = await online_service_eligibility(
        session, system(clock), practitioner_id=doctor.id, institution_id=other.id
    )

    assert response.status_code == 200, response.text
    sites = [
        (
            site["institution"]["id"],
            site["department"]["code"],
            site["is_primary"],
            site["filing_number"],
            site["consent_on_file"],
            site["online_available"],
        )
        for site in response.json()["sites"]
    ]
    assert sites == [
        (home.id, "03", True, "", False, True),
        (home.id, "07", False, "", False, True),  # consent means nothing at home
        (other.id, "03.04", False, "鄂卫多点2026-018", True, True),
    ]
    assert [item["id"] for item in found.json()["items"]] == [doctor.id]
    assert eligibility.allowed
    action, details = (await audit_trail(session, "practitioner", doctor.id))[-1]
    assert action == "practitioner.sites.set"
    assert [site["institution_id"] for site in details["sites"]] == [home.id, other.id, home.id]


async def test_a_filed_site_without_consent_is_listed_but_not_online(
    session, clock, client
) -> None:
    home, other, doctor, headers = await _setup(session, clock)
    body = {
        "department_code": "03.04",
        "practice_sites": [
            {"institution_id": other.id, "department_code": "07", "filing_number": "备案1"}
        ],
    }

    response = await client.put(f"/api/practitioners/{doctor.id}/sites", json=body, headers=headers)
    eligibility = await online_service_eligibility(
        session, system(clock), practitioner_id=doctor.id, institution_id=other.id
    )

    assert [site["online_available"] for site in response.json()["sites"]] == [True, False]
    assert [reason.code for reason in eligibility.reasons] == ["no_consent"]


BAD_SITES = [
    (
        {"institution_id": "other", "department_code": "07"},
        "directory.filing_required",
        ".0.filing_number",
    ),
    (
        {"institution_id": 999999, "department_code": "07", "filing_number": "备案"},
        "directory.site_institution_unknown",
        ".0.institution_id",
    ),
    (
        {"institution_id": "other", "department_code": "10", "filing_number": "备案"},
        "directory.department_not_run",
        ".0.department_code",
    ),
    (
        {"institution_id": "other", "department_code": "99.99", "filing_number": "备案"},
        "directory.department_unknown",
        ".0.department_code",
    ),
    (
        {"institution_id": "home", "department_code": "03.04"},
        "directory.site_duplicate",
        ".0",
    ),
    (
        {"institution_id": "other", "department_code": "07", "filing_number": "<b>备案</b>"},
        "request.invalid",
        ".0.filing_number",
    ),
    (
        {"institution_id": 2**63, "department_code": "07", "filing_number": "备案"},
        "request.invalid",
        ".0.institution_id",
    ),
    (
        {"institution_id": "other", "department_code": "07", "primary": True},
        "request.invalid",
        ".0.primary",
    ),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("site", "code", "field"), BAD_SITES)
async def test_a_bad_site_is_a_problem_naming_it_and_changes_nothing(
    session, clock, client, language, site, code, field
) -> None:
    home, other, doctor, headers = await _setup(session, clock)
    ids = {"home": home.id, "other": other.id}
    site = site | {"institution_id": ids.get(site["institution_id"], site["institution_id"])}
    before = await counts(session)
    trail = await audit_trail(session, "practitioner", doctor.id)

    response = await client.put(
        f"/api/practitioners/{doctor.id}/sites",
        json={"department_code": "03.04", "practice_sites": [site]},
        headers=headers_in(language, headers),
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["field"]) == (code, "practice_sites" + field)
    assert await counts(session) == before
    assert await audit_trail(session, "practitioner", doctor.id) == trail
    unchanged = (await client.get(f"/api/practitioners/{doctor.id}", headers=headers)).json()
    assert [site["department"]["code"] for site in unchanged["sites"]] == ["03.04"]


async def test_more_than_20_sites_are_refused(session, clock, client) -> None:
    home, other, doctor, headers = await _setup(session, clock)
    sites = [{"institution_id": other.id, "department_code": "07", "filing_number": "备案"}] * 21

    response = await client.put(
        f"/api/practitioners/{doctor.id}/sites",
        json={"department_code": "03.04", "practice_sites": sites},
        headers=headers,
    )

    assert (response.status_code, response.json()["field"]) == (422, "practice_sites")
