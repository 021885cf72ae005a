"""What several booking pages share: the doctors' practice sites."""

from __future__ import annotations

from typing import Any

from ihospital.directory.views import PractitionerView


def practice_sites(doctor: PractitionerView) -> dict[tuple[int, str], Any]:
    """The doctor's practice sites by (institution, department): where a session takes place."""
    return {(site.institution.id, site.department.code): site for site in doctor.sites}
