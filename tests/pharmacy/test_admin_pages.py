"""The institution admin's pharmacy pages without JavaScript: add, change and close the
institution's pharmacies; bad input shown next to its field with nothing written; another
institution's admin, a pharmacist and a patient refused."""

from __future__ import annotations

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.pharmacy.models import Pharmacy
from tests.directory.builders import make_institution
from tests.identity.builders import csrf_token, make_account
from tests.pharmacy.order_builders import make_pharmacy
from tests.web.builders import sign_in_as

EN = {"Accept-Language": "en"}
RETAIL = {
    "kind": "retail",
    "name": "武汉仁和大药房中山路店",
    "licence_number": "鄂CA0271146",
    "address": "武汉市武昌区中山路 301 号",
    "phone": "027-88860301",
    "offers_delivery": "1",
    "cold_chain": "1",
    "delivery_fee": "8.00",
    "active": "1",
}


async def _admin(session, client, clock, institution_id: int, role: str = "institution_admin"):
    account = await make_account(session, role=role, institution_id=institution_id, clock=clock)
    return await sign_in_as(session, client, account=account, clock=clock)


async def _pharmacies(session) -> list[Pharmacy]:
    return list((await session.scalars(select(Pharmacy).order_by(Pharmacy.id))).all())


async def test_the_admin_adds_a_cold_chain_partner_pharmacy_then_closes_it(client, session, clock):
    institution = await make_institution(session, clock=clock)
    await _admin(session, client, clock, institution.id)
    home = await client.get("/")
    assert 'href="/admin/pharmacies"' in home.text
    page = await client.get("/admin/pharmacies", headers=EN)
    assert page.status_code == 200
    assert '<label for="field-licence_number">' in page.text
    assert "No pharmacy is registered yet." in page.text

    sent = await client.post(
        "/admin/pharmacies", data={**RETAIL, "csrf_token": await csrf_token(client)}
    )
    assert sent.status_code == 303
    [pharmacy] = await _pharmacies(session)
    assert (pharmacy.institution_id, pharmacy.kind, pharmacy.delivery_fee_fen) == (
        institution.id,
        "retail",
        800,
    )
    assert (pharmacy.offers_delivery, pharmacy.offers_pickup, pharmacy.cold_chain) == (
        True,
        False,
        True,
    )
    listing = await client.get(sent.headers["location"])
    assert "武汉仁和大药房中山路店" in listing.text and "¥8.00" in listing.text

    form = (await client.get(f"/admin/pharmacies/{pharmacy.id}")).text
    assert 'value="8.00"' in form and 'name="cold_chain" type="checkbox" value="1" checked' in form
    closed = {**RETAIL, "offers_pickup": "1", "csrf_token": await csrf_token(client)}
    del closed["active"]
    saved = await client.post(f"/admin/pharmacies/{pharmacy.id}", data=closed)
    assert saved.status_code == 303
    await session.refresh(pharmacy)
    assert (pharmacy.active, pharmacy.offers_pickup) == (False, True)
    actions = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_type == "pharmacy")
    )
    assert list(actions) == ["pharmacy.create", "pharmacy.update"]


async def test_bad_input_is_shown_next_to_its_field_and_nothing_is_written(client, session, clock):
    institution = await make_institution(session, clock=clock)
    await _admin(session, client, clock, institution.id)
    token = await csrf_token(client)
    blank = await client.post(
        "/admin/pharmacies",
        data={"csrf_token": token, "kind": "clinic", "name": "", "delivery_fee": "-1"},
        headers=EN,
    )
    assert blank.status_code == 422
    for field in ("kind", "name", "licence_number", "address", "phone", "delivery_fee"):
        assert f'id="error-{field}"' in blank.text
    no_way = {**RETAIL, "csrf_token": token}
    del no_way["offers_delivery"]
    refused = await client.post("/admin/pharmacies", data=no_way)
    assert refused.status_code == 422
    assert 'id="error-offers_pickup"' in refused.text
    assert "药房须提供配送、窗口取药或两者兼有。" in refused.text
    assert await _pharmacies(session) == []

    pharmacy = await make_pharmacy(session, clock=clock, institution_id=institution.id)
    edit = await client.post(
        f"/admin/pharmacies/{pharmacy.id}", data={**RETAIL, "phone": "x", "csrf_token": token}
    )
    assert edit.status_code == 422 and 'id="error-phone"' in edit.text
    await session.refresh(pharmacy)
    assert pharmacy.name == "协和医院门诊药房"


async def test_another_institutions_admin_a_pharmacist_and_a_patient_are_refused(
    client, session, clock
):
    institution = await make_institution(session, clock=clock)
    pharmacy = await make_pharmacy(session, clock=clock, institution_id=institution.id)
    other = await make_institution(session, clock=clock, name="北京和平医院")
    await _admin(session, client, clock, other.id)
    token = await csrf_token(client)
    assert (await client.get(f"/admin/pharmacies/{pharmacy.id}")).status_code == 404
    changed = await client.post(
        f"/admin/pharmacies/{pharmacy.id}", data={**RETAIL, "csrf_token": token}
    )
    assert changed.status_code == 404
    scope = f"/admin/pharmacies?institution_id={institution.id}"
    assert (await client.get(scope)).status_code == 403
    added = await client.post(scope, data={**RETAIL, "csrf_token": token})
    assert added.status_code == 403
    own = await client.get("/admin/pharmacies")
    assert own.status_code == 200 and pharmacy.name not in own.text
    for role in ("pharmacist", "patient"):
        await _admin(session, client, clock, institution.id if role != "patient" else None, role)
        assert (await client.get(f"/admin/pharmacies/{pharmacy.id}")).status_code == 403
    assert [p.name for p in await _pharmacies(session)] == ["协和医院门诊药房"]


async def test_a_platform_admin_chooses_the_institution_first(client, session, clock):
    institution = await make_institution(session, clock=clock)
    await _admin(session, client, clock, None, "platform_admin")
    choose = await client.get("/admin/pharmacies")
    assert f'href="/admin/pharmacies?institution_id={institution.id}"' in choose.text
    sent = await client.post(
        f"/admin/pharmacies?institution_id={institution.id}",
        data={**RETAIL, "csrf_token": await csrf_token(client)},
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/admin/pharmacies?institution_id={institution.id}"
    entries = await session.scalar(select(func.count()).select_from(Pharmacy))
    assert entries == 1
