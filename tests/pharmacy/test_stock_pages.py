"""The pharmacists' stock pages without JavaScript: search the stock, stock a catalogue drug, set
the count and price, receive, adjust with a reason; bad input and refusals shown next to their
field with nothing changed; another institution's pharmacist and a patient refused."""

from __future__ import annotations

import json

from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.pharmacy.models import PharmacyStock
from tests.directory.builders import make_institution
from tests.identity.builders import csrf_token, make_account
from tests.pharmacy.order_builders import make_pharmacy, stock
from tests.prescribing.builders import make_drug
from tests.web.builders import sign_in_as

EN = {"Accept-Language": "en"}


async def _signed_in(session, client, clock, role: str, institution_id: int | None) -> None:
    account = await make_account(session, role=role, institution_id=institution_id, clock=clock)
    await sign_in_as(session, client, account=account, clock=clock)


async def _shelf(session, clock):
    """An institution's pharmacy keeping amlodipine (10 packages at ¥28.50), and metformin of
    the catalogue that it does not keep."""
    institution = await make_institution(session, clock=clock)
    pharmacy = await make_pharmacy(session, clock=clock, institution_id=institution.id)
    kept = await make_drug(session, clock=clock)
    other = await make_drug(
        session,
        clock=clock,
        generic_name_zh="盐酸二甲双胍片",
        generic_name_en="Metformin Hydrochloride Tablets",
        ingredient="metformin",
        atc_code="A10BA02",
    )
    row = await stock(session, clock=clock, pharmacy=pharmacy, drug=kept)
    return institution, pharmacy, kept, other, row


async def test_the_pharmacist_finds_counts_receives_and_adjusts(client, session, clock):
    institution, pharmacy, kept, other, row = await _shelf(session, clock)
    await _signed_in(session, client, clock, "pharmacist", institution.id)
    assert 'href="/pharmacy/stock"' in (await client.get("/")).text
    assert f'href="/pharmacy/stock/{pharmacy.id}"' in (await client.get("/pharmacy/stock")).text
    listing = await client.get(f"/pharmacy/stock/{pharmacy.id}", headers=EN)
    assert listing.status_code == 200
    assert f'id="stock-{kept.id}"' in listing.text and "¥28.50" in listing.text
    found = await client.get(f"/pharmacy/stock/{pharmacy.id}?q=二甲双胍")
    assert f'id="stock-{kept.id}"' not in found.text
    assert f'id="catalogue-{other.id}"' in found.text
    url = f"/pharmacy/stock/{pharmacy.id}/drugs/{other.id}"
    new = await client.get(url)
    assert new.status_code == 200 and '<label for="field-price">' in new.text
    token = await csrf_token(client)
    stocked = await client.post(url, data={"csrf_token": token, "on_hand": "5", "price": "17.80"})
    assert (stocked.status_code, stocked.headers["location"]) == (303, url)
    added = await session.scalar(select(PharmacyStock).where(PharmacyStock.drug_id == other.id))
    assert (added.on_hand, added.price_fen) == (5, 1780)

    kept_url = f"/pharmacy/stock/{pharmacy.id}/drugs/{kept.id}"
    received = await client.post(
        f"{kept_url}/receive", data={"csrf_token": token, "packages": "20"}
    )
    assert received.status_code == 303
    adjusted = await client.post(
        f"{kept_url}/adjust", data={"csrf_token": token, "change": "-2", "reason": "破损"}
    )
    assert adjusted.status_code == 303
    await session.refresh(row)
    assert row.on_hand == 28
    changes = await session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "pharmacy.stock.change")
    )
    details = [json.loads(text) for text in changes]
    assert [(d["change"], d["reason"]) for d in details] == [(20, "received"), (-2, "破损")]
    shown = await client.get(kept_url, headers=EN)
    assert "On hand: 28 packages, 0 held by orders." in shown.text


async def test_bad_input_and_refusals_are_shown_next_to_the_field(client, session, clock):
    institution, pharmacy, kept, _, row = await _shelf(session, clock)
    row.reserved = 4
    await session.flush()
    await _signed_in(session, client, clock, "pharmacist", institution.id)
    url = f"/pharmacy/stock/{pharmacy.id}/drugs/{kept.id}"
    token = await csrf_token(client)
    cases = (
        ("", {"on_hand": "many", "price": "abc"}, ("on_hand", "price")),
        ("", {"on_hand": "3", "price": "1"}, ("on_hand",)),  # below what orders hold
        ("/receive", {"packages": "-5"}, ("packages",)),
        ("/adjust", {"change": "0", "reason": "盘点"}, ("change",)),
        ("/adjust", {"change": "-7", "reason": "过期"}, ("on_hand",)),
        ("/adjust", {"change": "1", "reason": ""}, ("reason",)),
    )
    for suffix, form, fields in cases:
        sent = await client.post(url + suffix, data={"csrf_token": token, **form})
        assert sent.status_code in (409, 422), (suffix, form)
        for field in fields:
            if field in form:
                assert f'id="error-{field}"' in sent.text, (suffix, form)
    held = await client.post(url, data={"csrf_token": token, "on_hand": "3", "price": "1"})
    assert "订单已预留此药品 4 盒，库存数不能低于该数。" in held.text
    await session.refresh(row)
    assert (row.on_hand, row.reserved, row.price_fen) == (10, 4, 2850)


async def test_another_institutions_pharmacist_and_a_patient_are_refused(client, session, clock):
    _, pharmacy, kept, _, row = await _shelf(session, clock)
    other = await make_institution(session, clock=clock, name="北京和平医院")
    await _signed_in(session, client, clock, "pharmacist", other.id)
    token = await csrf_token(client)
    url = f"/pharmacy/stock/{pharmacy.id}/drugs/{kept.id}"
    assert (await client.get(f"/pharmacy/stock/{pharmacy.id}")).status_code == 404
    assert (await client.get(url)).status_code == 404
    sent = await client.post(url, data={"csrf_token": token, "on_hand": "99", "price": "1"})
    assert sent.status_code == 404
    received = await client.post(f"{url}/receive", data={"csrf_token": token, "packages": "9"})
    assert received.status_code == 404
    assert pharmacy.name not in (await client.get("/pharmacy/stock")).text
    await _signed_in(session, client, clock, "patient", None)
    assert (await client.get(f"/pharmacy/stock/{pharmacy.id}")).status_code == 403
    await session.refresh(row)
    assert row.on_hand == 10
