"""Case files: the PDF sets the Chinese text in the embedded font, the JSON is the timeline's
document, and a tampered audit trail is stated in both, naming the entry."""

import json
from io import BytesIO

from pypdf import PdfReader

from ihospital.core.i18n import current_language
from ihospital.db import make_engine, make_sessionmaker
from ihospital.supervision.traceability.pdf import case_file_pdf
from ihospital.supervision.traceability.schemas import CaseFileRead
from ihospital.supervision.traceability.service import open_case
from tests.audit.support import tamper
from tests.directory.builders import bearer
from tests.supervision.traceability.builders import regulator_actor, traced_case

EN = {"Accept-Language": "en"}


def _text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _without_reading(case: dict) -> dict:
    """The document minus what differs between two readings: when it was made and the
    readings themselves (each is audited, and shows in the next)."""
    reads = ("supervision.case_read", "supervision.case_exported")
    kept = [e for e in case["events"] if e["action"] not in reads]
    ids = {e["audit_entry_id"] for e in kept}
    return {
        **case,
        "generated_at": None,
        "events": kept,
        "audit_entries": [link for link in case["audit_entries"] if link["entry_id"] in ids],
        "audit_chain": {**case["audit_chain"], "checked": None},
    }


async def test_the_pdf_is_a_real_pdf_with_the_chinese_timeline(client, session, clock):
    traced = await traced_case(session, clock)
    headers = await bearer(session, clock=clock, account=traced.regulator)
    path = f"/api/regulator/cases/prescription/{traced.second.id}/case-file.pdf"
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert (
        f'filename="case-prescription-{traced.second.id}.pdf"'
        in (response.headers["content-disposition"])
    )
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(response.content))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert any("NotoSansSC" in str(fonts[name].get_object()["/BaseFont"]) for name in fonts)
    text = _text(response.content)
    for expected in (
        traced.pharmacy.practice.institution.name,
        f"病例档案 · 处方 {traced.second.number}",
        "审计链校验通过",
        "处方签署",
        "药师审方不通过",
        "审方不通过后修改处方（新版本）",
        "药师审方通过",
        "触发监管预警",
        "剂量需调整",
        "本病例依据的审计记录",
    ):
        assert expected in text, expected


async def test_the_pdf_follows_the_readers_language(client, session, clock):
    traced = await traced_case(session, clock)
    headers = await bearer(session, clock=clock, account=traced.regulator)
    path = f"/api/regulator/cases/consultation/{traced.consultation_id}/case-file.pdf"
    response = await client.get(path, headers={**headers, **EN})
    text = _text(response.content)
    for expected in (
        "Case file · Consultation",
        "The audit chain verifies",
        "Medical record amended",
    ):
        assert expected in text, expected


async def test_the_json_case_file_is_the_timeline(client, session, clock):
    traced = await traced_case(session, clock)
    headers = await bearer(session, clock=clock, account=traced.regulator)
    base = f"/api/regulator/cases/consultation/{traced.consultation_id}"
    timeline = (await client.get(base, headers=headers)).json()
    download = await client.get(f"{base}/case-file.json", headers=headers)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/json"
    assert "attachment" in download.headers["content-disposition"]
    exported = json.loads(download.content)
    assert _without_reading(exported) == _without_reading(timeline)
    assert len(exported["events"]) == len(timeline["events"]) + 1  # the first reading


async def test_a_tampered_trail_is_stated_naming_the_entry(databases, clock):
    url = await databases.fresh()
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session, session.begin():
            traced = await traced_case(session, clock)
            reader = regulator_actor(clock, traced.regulator)
            case = await open_case(session, reader, kind="prescription", case_id=traced.first.id)
            assert case.chain.verified
            [signed] = [e for e in case.events if e.action == "prescribing.prescription_signed"][:1]
            entry_id = signed.audit_entry_id
        await tamper(
            url, f"UPDATE audit_entries SET details = '{{\"forged\": 1}}' WHERE id = {entry_id}"
        )
        async with factory() as session, session.begin():
            case = await open_case(session, reader, kind="prescription", case_id=traced.first.id)
        assert not case.chain.verified
        assert case.chain.first_bad_entry_id == entry_id
        assert "content changed" in case.chain.reason
        assert case.tampered_entries == [entry_id]
        token = current_language.set("zh-CN")
        try:
            text = _text(case_file_pdf(CaseFileRead.of(case)))
        finally:
            current_language.reset(token)
        assert "审计链校验未通过" in text
        assert "审计记录内容被改动（被编辑）" in text
        assert f"审计记录 {entry_id}" in text
        assert f"本病例中与链节不再一致的审计记录：{entry_id}" in text
    finally:
        await engine.dispose()
