"""The coded words of drugs and prescription items are shown in the reader's language: every
code the seed catalogue and the checks use has its label, and pages show the labels."""

from __future__ import annotations

import pytest

from ihospital.core.i18n import current_language
from ihospital.prescribing.checks import FREQUENCIES
from ihospital.prescribing.terms import (
    FORM_MESSAGES,
    FREQUENCY_MESSAGES,
    ROUTE_MESSAGES,
    UNIT_MESSAGES,
    form_label,
    frequency_label,
    route_label,
    unit_label,
)
from tests.prescribing.catalogue_csv import seed_rows
from tests.web.builders import sign_in


def test_every_frequency_the_checks_know_has_a_label_and_no_other():
    assert set(FREQUENCY_MESSAGES) == set(FREQUENCIES)


@pytest.mark.parametrize(
    ("column", "messages"),
    [
        ("dosage_form", FORM_MESSAGES),
        ("unit", UNIT_MESSAGES),
        ("package_unit", UNIT_MESSAGES),
        ("default_route", ROUTE_MESSAGES),
    ],
)
def test_every_code_of_the_seed_catalogue_has_a_label(column, messages):
    used = {row[column] for row in seed_rows()}
    assert used - set(messages) == set()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", ("缓释片", "粒", "盒", "皮下注射", "每日两次")),
        (
            "en",
            ("Sustained-release tablet", "capsule", "box", "subcutaneous injection", "twice a day"),
        ),
    ],
)
def test_labels_follow_the_language(language, expected):
    token = current_language.set(language)
    try:
        shown = (
            form_label("sustained-release tablet"),
            unit_label("capsule"),
            unit_label("box"),
            route_label("sc"),
            frequency_label("bid"),
        )
    finally:
        current_language.reset(token)
    assert shown == expected


def test_a_code_without_a_label_is_shown_as_it_is():
    assert unit_label("mg") == "mg"
    assert form_label("lozenge") == "lozenge"


async def test_the_catalogue_page_shows_forms_and_units_in_chinese(client, session, clock):
    await sign_in(session, client, clock=clock, role="platform_admin")
    page = await client.get("/admin/drugs", params={"q": "络活喜"})
    assert page.status_code == 200
    assert "片剂" in page.text and "/盒" in page.text
    assert "tablet" not in page.text.split("<main", 1)[-1]
