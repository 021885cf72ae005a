"""The printable prescription (处方笺): a PDF whose Chinese text is set in an embedded subset of
Noto Sans SC, with the standard layout and a QR code of the verification page; for the patient
once approved, the doctor and the institution's pharmacists only (audited)."""

from io import BytesIO

import segno
from pypdf import PdfReader
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.identity.models import Account
from ihospital.prescribing.verification import key_fingerprint, verification_code
from ihospital.security.signing import signing_key
from tests.directory.builders import bearer
from tests.prescribing.verification_world import written

SCALE, BORDER = 4, 2  # how printing.py draws the QR code's modules


async def _pdf(client, session, clock, world, account, headers=None):
    auth = await bearer(session, clock=clock, account=account)
    return await client.get(
        f"/api/prescriptions/{world.prescription.id}/pdf", headers={**auth, **(headers or {})}
    )


def _fonts(page) -> list:
    fonts = page["/Resources"]["/Font"]
    return [fonts[name].get_object() for name in fonts]


def _qr_matches(image, url: str) -> bool:
    """Whether every module of the QR code segno makes for ``url`` has the image's colour."""
    matrix = segno.make(url, error="m", micro=False).matrix
    grey = image.convert("L")
    if grey.size != ((len(matrix) + 2 * BORDER) * SCALE,) * 2:
        return False
    for row, modules in enumerate(matrix):
        for column, dark in enumerate(modules):
            x, y = ((column + BORDER) * SCALE + 1, (row + BORDER) * SCALE + 1)
            if (grey.getpixel((x, y)) < 128) != bool(dark):
                return False
    return True


async def test_the_patient_prints_an_approved_prescription_in_chinese(client, session, clock):
    world = await written(session, clock)
    prescription = world.prescription
    response = await _pdf(client, session, clock, world, world.patient_account)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert f'filename="{prescription.number}.pdf"' in response.headers["content-disposition"]
    reader = PdfReader(BytesIO(response.content))
    [page] = reader.pages
    text = page.extract_text()
    key = await signing_key(session, key_id=prescription.signing_key_id)
    for expected in (
        world.practice.institution.name,
        "处方",
        prescription.number,
        "姓名：欧阳小明",
        "性别：男",
        "科别：心血管内科专业",
        "临床诊断：原发性高血压 (I10)",
        "Rp",
        "1. 苯磺酸氨氯地平片",
        "2. 盐酸二甲双胍缓释片",
        "每次 0.5 g，口服，每日两次 (bid)，共 7 天",
        "× 2 盒",
        f"医师：{world.practice.doctor.name}（电子签名）",
        key_fingerprint(key.public_key),
        "审核药师：王药师",
        f"有效期至 {prescription.valid_until.isoformat()}（1 天）",
        verification_code(prescription),
        "已通过",
    ):
        assert expected in text, expected


async def test_the_font_is_embedded_as_a_subset(client, session, clock):
    world = await written(session, clock)
    response = await _pdf(client, session, clock, world, world.pharmacist)
    [page] = PdfReader(BytesIO(response.content)).pages
    [font] = _fonts(page)
    assert "+NotoSansSC" in font["/BaseFont"]  # ABCDEF+NotoSansSC: a subset
    [descendant] = [d.get_object() for d in font["/DescendantFonts"]]
    embedded = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
    assert 1_000 < len(embedded) < 200_000  # only the glyphs used, not the 2 MB subset
    assert len(response.content) < 300_000


async def test_the_qr_code_holds_the_verification_page(client, session, clock):
    world = await written(session, clock)
    response = await _pdf(client, session, clock, world, world.patient_account)
    [page] = PdfReader(BytesIO(response.content)).pages
    [image] = page.images
    prescription = world.prescription
    url = (
        f"https://testserver/verify/prescription?number={prescription.number}"
        f"&code={verification_code(prescription)}"
    )
    assert _qr_matches(image.image, url)
    assert not _qr_matches(image.image, url.replace("testserver", "example.org"))


async def test_printing_is_an_audited_read(client, session, clock):
    world = await written(session, clock)
    doctor = await session.get(Account, world.practice.doctor.account_id)
    assert (await _pdf(client, session, clock, world, doctor)).status_code == 200
    entry = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "prescription.printed",
            AuditEntry.subject_id == str(world.prescription.id),
        )
    )
    assert entry.actor_account_id == doctor.id
    assert entry.patient_id == world.prescription.patient_id


async def test_a_prescription_waiting_for_review_is_printed_for_staff_only(client, session, clock):
    world = await written(session, clock, status="pending_review")
    refused = await _pdf(client, session, clock, world, world.patient_account)
    assert refused.status_code == 404
    assert refused.json()["code"] == "prescribing.prescription_not_found"
    response = await _pdf(client, session, clock, world, world.pharmacist)
    text = PdfReader(BytesIO(response.content)).pages[0].extract_text()
    assert "待药师审核" in text and "审核药师：-" in text


async def test_the_form_follows_the_readers_language(client, session, clock):
    world = await written(session, clock)
    response = await _pdf(
        client, session, clock, world, world.pharmacist, headers={"Accept-Language": "en"}
    )
    text = PdfReader(BytesIO(response.content)).pages[0].extract_text()
    assert "Name: 欧阳小明" in text and "oral, twice a day (bid), for 7 days" in text
