"""Consulting a department from the pages: the institution's page links to it, the first
available doctor of the department takes the consultation, and a department without one is
refused next to the form, changing nothing."""

from sqlalchemy import func, select

from ihospital.consultation.models import Consultation
from ihospital.identity.models import Account
from tests.consultation.builders import make_practice
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as


async def _signed_in(session, client, clock):
    patient = await make_patient(session, clock=clock)
    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    return patient


async def _count(session):
    return await session.scalar(select(func.count()).select_from(Consultation))


async def test_a_patient_consults_a_department(client, session, clock):
    practice = await make_practice(session, clock=clock)
    patient = await _signed_in(session, client, clock)
    url = f"/institutions/{practice.institution.id}/departments/03.04/consult"
    page = await client.get(url)
    assert page.status_code == 200 and f'action="{url}"' in page.text
    form = {
        "csrf_token": await csrf_token(client),
        "patient_id": str(patient.id),
        "consultation_type": "text",
        "complaint": "血压控制不佳，头晕两天",
    }
    refused = await client.post(url, data={**form, "consultation_type": "fax"})
    assert refused.status_code == 422 and 'id="error-consultation_type"' in refused.text
    started = await client.post(url, data=form)
    assert started.status_code == 303, started.text
    [consultation] = (await session.scalars(select(Consultation))).all()
    assert consultation.practitioner_id in (practice.doctor.id, practice.colleague.id)
    assert started.headers["location"] == f"/bills/{consultation.order_id}"


async def test_a_department_without_an_available_doctor_is_refused(client, session, clock):
    practice = await make_practice(session, clock=clock)
    patient = await _signed_in(session, client, clock)
    url = f"/institutions/{practice.institution.id}/departments/07/consult"
    form = {
        "csrf_token": await csrf_token(client),
        "patient_id": str(patient.id),
        "consultation_type": "text",
        "complaint": "发热一天",
    }
    refused = await client.post(url, data=form)
    assert refused.status_code == 409
    assert "该科室目前没有可接此类问诊的医生。" in refused.text
    assert await _count(session) == 0
    missing = await client.get(f"/institutions/{practice.institution.id}/departments/99/consult")
    assert missing.status_code == 404
