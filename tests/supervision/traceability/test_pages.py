"""Case timeline pages: the lookup form finds a prescription by its number, the timeline page
shows the events with the check of the audit chain and links to the case files, an alert about
a prescription links to its timeline; another region's case is not found. Chinese by default,
English when asked."""

from tests.supervision.traceability.builders import traced_case
from tests.web.builders import sign_in_as

ENGLISH = {"Accept-Language": "en"}


async def test_a_regulator_looks_a_prescription_up_by_number_and_reads_its_timeline(
    client, session, clock
):
    traced = await traced_case(session, clock)
    await sign_in_as(session, client, account=traced.regulator, clock=clock)
    form = await client.get("/regulator/cases")
    assert form.status_code == 200
    assert "病例追溯" in form.text and 'id="case-lookup"' in form.text
    assert '<label for="field-kind">' in form.text
    found = await client.get(
        "/regulator/cases", params={"kind": "prescription", "reference": traced.first.number}
    )
    url = f"/regulator/cases/prescription/{traced.first.id}"
    assert (found.status_code, found.headers["location"]) == (303, url)
    page = await client.get(url)
    assert page.status_code == 200
    for expected in (
        f"处方 {traced.first.number}",
        "审计链校验通过",
        "药师审方不通过",
        "审方不通过后修改处方（新版本）",
        f'href="/api/regulator/cases/prescription/{traced.first.id}/case-file.pdf"',
        f'href="/api/regulator/cases/prescription/{traced.first.id}/case-file.json"',
        f'href="/regulator/cases/consultation/{traced.consultation_id}"',
    ):
        assert expected in page.text, expected
    english = await client.get(url, headers=ENGLISH)
    assert "Pharmacist rejected the prescription" in english.text
    assert "The audit chain verifies" in english.text


async def test_a_reference_that_names_nothing_is_shown_next_to_the_form(client, session, clock):
    traced = await traced_case(session, clock)
    await sign_in_as(session, client, account=traced.regulator, clock=clock)
    missing = await client.get(
        "/regulator/cases", params={"kind": "prescription", "reference": "RX-NONE"}
    )
    assert missing.status_code == 404
    assert "没有编号或 ID 为 RX-NONE 的处方病例" in missing.text
    assert 'aria-invalid="true"' in missing.text


async def test_an_alert_about_a_prescription_links_to_its_timeline(client, session, clock):
    traced = await traced_case(session, clock)
    await sign_in_as(session, client, account=traced.regulator, clock=clock)
    url = f"/regulator/cases/prescription/{traced.first.id}"
    listing = await client.get("/supervision/alerts")
    assert f'href="{url}"' in listing.text and 'href="/regulator/cases"' in listing.text
    alert = await client.get(f"/supervision/alerts/{traced.alert.id}")
    assert f'href="{url}" id="alert-case"' in alert.text


async def test_another_regions_regulator_gets_no_timeline_page(client, session, clock):
    traced = await traced_case(session, clock)
    await sign_in_as(session, client, account=traced.other_regulator, clock=clock)
    page = await client.get(f"/regulator/cases/consultation/{traced.consultation_id}")
    assert page.status_code == 404
    assert "未找到病例" in page.text


async def test_the_consultation_timeline_names_who_sent_what(client, session, clock):
    traced = await traced_case(session, clock)
    await sign_in_as(session, client, account=traced.regulator, clock=clock)
    url = f"/regulator/cases/consultation/{traced.consultation_id}"
    page = await client.get(url)
    assert "消息 · 就诊人 · 文字消息" in page.text and "消息 · 医生 · 文字消息" in page.text
    assert "· patient ·" not in page.text
    english = await client.get(url, headers=ENGLISH)
    assert "Messages · Patient · Text message" in english.text
