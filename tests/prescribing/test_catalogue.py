"""The drug catalogue's seed, search, CSV import and (de)activation, through the service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.errors import Forbidden, UnsupportedMediaType
from ihospital.prescribing.catalogue import (
    DrugFilters,
    import_drugs,
    search_drugs,
    set_drug_active,
)
from ihospital.prescribing.catalogue_import import (
    DRUG_COLUMNS,
    OPTIONAL_COLUMNS,
    CatalogueRejected,
    seed_interactions,
)
from ihospital.prescribing.models import SPECIAL_CLASSES, Drug, DrugInteraction
from tests.prescribing.catalogue_csv import (
    NEW_CODE,
    counts,
    csv_text,
    new_row,
    seed_row,
    seed_rows,
)

ADMIN = "platform_admin"


def admin(clock) -> Actor:
    return Actor(role=ADMIN, clock=clock, account_id=None)


async def _search(session, clock, **filters) -> list[Drug]:
    page = await search_drugs(session, admin(clock), filters=DrugFilters(**filters), page_size=50)
    return page.items


async def test_the_seed_fills_every_column_of_about_200_drugs(session):
    drugs = (await session.scalars(select(Drug))).all()
    assert 200 <= len(drugs) <= 300
    assert len({drug.code for drug in drugs}) == len(drugs)
    required = [name for name in DRUG_COLUMNS if name not in OPTIONAL_COLUMNS]
    for drug in drugs:
        assert all(getattr(drug, name) not in (None, "") for name in required), drug.code
        assert drug.name_pinyin and drug.name_initials and drug.active
        assert drug.approval_number.startswith("国药准字")
    assert {drug.special_class for drug in drugs} >= set(SPECIAL_CLASSES)
    assert sum(drug.cold_chain for drug in drugs) >= 10
    assert sum(drug.antimicrobial for drug in drugs) >= 20
    assert sum(not drug.prescription_only for drug in drugs) >= 15
    for ingredient in ("amlodipine", "metformin", "atorvastatin", "insulin glargine", "warfarin"):
        assert any(drug.ingredient == ingredient for drug in drugs), ingredient


async def test_every_interaction_subject_matches_a_seeded_drug(session):
    drugs = (await session.scalars(select(Drug))).all()
    ingredients = {drug.ingredient for drug in drugs}
    stored = (await session.scalars(select(DrugInteraction))).all()
    assert len(stored) == len(seed_interactions()) >= 60
    unmatched = []
    for row in stored:
        for kind, code in ((row.first_kind, row.first_code), (row.second_kind, row.second_code)):
            if kind == "ingredient" and code not in ingredients:
                unmatched.append(code)
            if kind == "atc" and not any(drug.atc_code.startswith(code) for drug in drugs):
                unmatched.append(code)
    assert unmatched == []
    pairs = {(row.first_code, row.second_code, row.severity) for row in stored}
    assert ("simvastatin", "clarithromycin", "contraindicated") in pairs
    assert ("sildenafil", "C01DA", "contraindicated") in pairs
    assert ("warfarin", "M01A", "major") in pairs
    assert ("clopidogrel", "omeprazole", "moderate") in pairs


@pytest.mark.parametrize(
    "q",
    [
        "氨氯地平",
        "络活喜",
        "aldp",
        "anlvdiping",
        "Amlodipine",
        "amlodipine",
        "C08CA01",
        "XC08CAA027",
    ],
)
async def test_a_drug_is_found_by_name_brand_pinyin_initials_and_codes(session, clock, q):
    found = await _search(session, clock, q=q)
    assert found and all("amlodipine" in drug.ingredient for drug in found)
    assert any(drug.brand_name_zh == "络活喜" for drug in found)


@pytest.mark.parametrize("q", ["%", "_", "' OR '1'='1", "\\"])
async def test_search_text_is_matched_literally(session, clock, q):
    assert await _search(session, clock, q=q) == []


async def test_filters_narrow_the_search(session, clock):
    narcotics = await _search(session, clock, special_class="narcotic")
    assert {drug.ingredient for drug in narcotics} >= {"morphine", "fentanyl"}
    assert all(drug.special_class == "narcotic" for drug in narcotics)
    cold = await _search(session, clock, q="胰岛素", cold_chain=True)
    assert cold and all(drug.cold_chain for drug in cold)
    otc = await _search(session, clock, prescription_only=False, antimicrobial=True)
    assert otc and all(not d.prescription_only and d.antimicrobial for d in otc)


async def test_a_withdrawn_drug_is_found_only_when_asked_and_the_change_is_audited(session, clock):
    [drug] = [d for d in await _search(session, clock, q="络活喜")]
    await set_drug_active(session, admin(clock), drug_id=drug.id, active=False)
    assert await _search(session, clock, q="络活喜") == []
    assert [d.id for d in await _search(session, clock, q="络活喜", include_inactive=True)] == [
        drug.id
    ]
    await set_drug_active(session, admin(clock), drug_id=drug.id, active=True)
    actions = (
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "drug", AuditEntry.subject_id == str(drug.id))
            .order_by(AuditEntry.id)
        )
    ).all()
    assert actions == ["drug.deactivated", "drug.reactivated"]


async def test_import_adds_new_codes_updates_known_ones_and_audits_each(session, clock):
    changed = {**seed_row(), "reference_price_fen": "3500"}
    unchanged = seed_row("XA10BA")
    withdrawn = (await _search(session, clock, q=unchanged["code"]))[0]
    await set_drug_active(session, admin(clock), drug_id=withdrawn.id, active=False)
    text = csv_text([new_row(), changed, unchanged])
    result = await import_drugs(session, admin(clock), data=text.encode())
    assert (result.created, result.updated, result.unchanged, result.total) == (1, 1, 1, 3)
    created = await session.scalar(select(Drug).where(Drug.code == NEW_CODE))
    assert created.active and created.strength_value == Decimal("10")
    assert created.name_initials.startswith("bhsaldpp")
    updated = await session.scalar(select(Drug).where(Drug.code == changed["code"]))
    assert updated.reference_price_fen == 3500
    assert not withdrawn.active  # an import does not bring a withdrawn drug back
    entries = (
        await session.scalars(select(AuditEntry).where(AuditEntry.action.like("drug%")))
    ).all()
    actions = sorted(entry.action for entry in entries if entry.actor_role == ADMIN)
    assert actions == ["drug.created", "drug.deactivated", "drug.updated", "drugs.imported"]
    update = next(entry for entry in entries if entry.action == "drug.updated")
    assert '"reference_price_fen": [3360, 3500]' in update.details


def _bad_rows() -> tuple[str, list[tuple[int, str, str]]]:
    good = new_row()
    rows = [
        good,  # line 2
        {**good, "code": "XC08CAA027A001990199998", "special_class": "opioid"},  # line 3
        {**good, "code": "XC08CAA027A001990199997", "strength_value": "五"},  # line 4
        {**good, "code": "XC08CAA027A001990199996", "usual_dose_min": "20"},  # line 5
        {**good},  # line 6: the code of line 2 again
        {**good, "code": "ABC", "insurance_class": "甲", "cold_chain": "maybe"},  # line 7
        {**good, "code": "XC08CAA027A001990199995", "approval_number": "H2003"},  # line 8
        {**good, "code": "XC08CAA027A001990199994", "default_route": "by mouth"},  # line 9
    ]
    expected = [
        (3, "special_class", "Unknown special-management class opioid"),
        (4, "strength_value", "五 is not a number"),
        (5, "usual_dose_min", "The usual minimum dose 20 is above the usual maximum dose 10."),
        (6, "code", f"The code {NEW_CODE} is also on line 2."),
        (7, "code", "ABC is not a national insurance drug code"),
        (7, "cold_chain", "maybe is neither true nor false."),
        (7, "insurance_class", "Unknown insurance class 甲"),
        (8, "approval_number", "H2003 is not an approval number"),
        (9, "default_route", "by mouth is not one of oral, im, iv"),
    ]
    return csv_text(rows), expected


async def test_every_bad_row_is_reported_by_line_and_column_and_nothing_is_written(session, clock):
    text, expected = _bad_rows()
    before = await counts(session)
    with pytest.raises(CatalogueRejected) as refused:
        await import_drugs(session, admin(clock), data=text.encode())
    found = sorted(
        (p["line"], p["column"], p["message"])
        for p in (error.as_problem("en") for error in refused.value.errors)
    )
    assert [(line, column) for line, column, _ in found] == [(n, c) for n, c, _ in expected]
    for (_, _, message), (_, _, start) in zip(found, expected, strict=True):
        assert message.startswith(start)
    chinese = [error.as_problem("zh-CN")["message"] for error in refused.value.errors]
    assert all(message and not message.startswith(("Unknown", "The ")) for message in chinese)
    assert await counts(session) == before


async def test_a_missing_column_is_reported_on_the_first_line(session, clock):
    columns = tuple(name for name in DRUG_COLUMNS if name != "cold_chain") + ("colour",)
    text = csv_text([new_row()], columns=columns)
    with pytest.raises(CatalogueRejected) as refused:
        await import_drugs(session, admin(clock), data=text.encode())
    assert sorted((e.line, e.column) for e in refused.value.errors) == [
        (1, "cold_chain"),
        (1, "colour"),
    ]


async def test_a_file_saved_by_excel_in_gbk_or_with_a_bom_is_read(session, clock):
    text = csv_text([new_row()])
    gbk = await import_drugs(session, admin(clock), data=text.encode("gbk"))
    again = await import_drugs(session, admin(clock), data=text.encode("utf-8-sig"))
    assert (gbk.created, again.unchanged) == (1, 1)


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00", b"PK\x03\x04xlsx", b"a,b\x00c"])
async def test_a_file_that_is_not_csv_text_is_refused(session, clock, data):
    with pytest.raises(UnsupportedMediaType):
        await import_drugs(session, admin(clock), data=data)


@pytest.mark.parametrize("role", ["doctor", "pharmacist", "institution_admin", "patient"])
async def test_only_a_platform_admin_changes_the_catalogue(session, clock, role):
    actor = Actor(role=role, clock=clock, account_id=1)
    before = await counts(session)
    with pytest.raises(Forbidden):
        await import_drugs(session, actor, data=csv_text([new_row()]).encode())
    with pytest.raises(Forbidden):
        await set_drug_active(session, actor, drug_id=1, active=False)
    assert await counts(session) == before


def test_the_seed_file_reads_without_errors():
    assert len(seed_rows()) >= 200
