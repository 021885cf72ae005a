"""The doctor's prescribing form: search and add drugs without JavaScript, see the findings
("check" or the live htmx check) with the reason fields warnings ask for, sign; a refusal keeps
the values and writes nothing; other doctors find nothing; a health consultation cannot
prescribe; the workstation links the form."""

from tests.consultation.builders import PRIOR, in_progress, make_practice
from tests.directory.builders import doctor_account
from tests.identity.builders import csrf_token, make_patient
from tests.prescribing.builders import MORPHINE, form_row, make_drug, prescriptions_written
from tests.web.builders import sign_in_as


async def _setup(session, client, clock, *, prior=PRIOR, doctor="doctor"):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    consultation = await in_progress(
        session, clock, practice, await make_patient(session, clock=clock), prior=prior
    )
    view = getattr(practice, doctor)
    await sign_in_as(session, client, account=await doctor_account(session, view=view), clock=clock)
    token = {"csrf_token": await csrf_token(client)}
    return consultation, token, f"/doctor/consultations/{consultation.id}/prescription"


async def test_search_add_check_and_sign_without_javascript(client, session, clock):
    consultation, token, url = await _setup(session, client, clock)
    amlodipine = await make_drug(session, clock=clock)
    workstation = await client.get(f"/doctor/consultations/{consultation.id}")
    assert f'href="{url}"' in workstation.text and "开具处方" in workstation.text

    found = await client.get(url, params={"drug_q": "bhs"})
    assert found.status_code == 200 and f'name="add_drug" value="{amlodipine.id}"' in found.text
    added = await client.post(
        url, data={**token, "diagnoses": "I10", "add_drug": str(amlodipine.id)}
    )
    assert f'name="items-1-drug_id" value="{amlodipine.id}"' in added.text
    assert "苯磺酸氨氯地平片" in added.text and 'value="I10"' in added.text

    high = {**token, "diagnoses": "I10", **form_row(amlodipine, dose="20"), "action": "check"}
    checked = await client.post(url, data=high)
    assert checked.status_code == 200 and 'data-finding="rx.dose_unusual"' in checked.text
    assert 'id="reason-items-1-override_reason" class="field rx-reason">' in checked.text

    refused = await client.post(url, data={**high, "action": "sign"})
    assert refused.status_code == 422 and "单次剂量超出常用范围" in refused.text
    assert 'name="items-1-dose"' in refused.text and 'value="20"' in refused.text
    assert await prescriptions_written(session) == 0

    reasoned = {**high, "items-1-override_reason": "血压难控，短期加量", "action": "sign"}
    signed = await client.post(url, data=reasoned)
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == f"/doctor/consultations/{consultation.id}"
    assert await prescriptions_written(session) == 1


async def test_the_live_check_answers_findings_and_the_reason_fields(client, session, clock):
    _, token, url = await _setup(session, client, clock)
    morphine = await make_drug(session, clock=clock, **MORPHINE)
    answer = await client.post(
        f"{url}/check", data={**token, "diagnoses": "I10", **form_row(morphine, dose="10")}
    )
    assert answer.status_code == 200
    assert 'data-finding="rx.special_class"' in answer.text and "盐酸吗啡片" in answer.text
    assert "监管规则 R10" in answer.text  # the rule is named
    assert 'hx-swap-oob="true"' in answer.text
    assert await prescriptions_written(session) == 0


async def test_a_health_consultation_cannot_prescribe_and_others_find_nothing(
    client, session, clock
):
    consultation, token, url = await _setup(session, client, clock, prior=None)
    amlodipine = await make_drug(session, clock=clock)
    answer = await client.post(
        url, data={**token, "diagnoses": "I10", **form_row(amlodipine), "action": "sign"}
    )
    assert answer.status_code == 422 and "健康咨询" in answer.text
    assert await prescriptions_written(session) == 0


async def test_another_doctors_consultation_is_not_found(client, session, clock):
    _, token, url = await _setup(session, client, clock, doctor="colleague")
    assert (await client.get(url)).status_code == 404
    amlodipine = await make_drug(session, clock=clock)
    answer = await client.post(
        url, data={**token, "diagnoses": "I10", **form_row(amlodipine), "action": "sign"}
    )
    assert answer.status_code == 404
    assert await prescriptions_written(session) == 0
