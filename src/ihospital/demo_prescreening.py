"""The epidemic pre-screening part of the demo: fever clinics (发热门诊) of the demo's hospitals
and one high-risk pre-screening, so the command centre's board of the Wuhan regulator shows an
alert as soon as the worker has handled it (and the patient's outcome page lists the clinics)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.directory.models import Institution
from ihospital.identity.models import Patient
from ihospital.triage.prescreening.clinics import add_clinic
from ihospital.triage.prescreening.questionnaires import published
from ihospital.triage.prescreening.screening import submit

CLINICS = {
    "wh-a": ("发热门诊", "武汉市武昌区中山路 238 号门诊楼东侧", "24小时", "027-88041120"),
    "wh-b": ("发热门诊", "武汉市洪山区珞狮路 16 号急诊楼一层", "08:00–22:00", "027-87392119"),
    "bj-a": ("发热门诊", "北京市朝阳区工体南路 8 号南门", "24小时", "010-85231120"),
}
HIGH_RISK = {
    "temperature": "38.7",
    "symptoms": ["cough", "short_breath"],
    "travel": False,
    "contact": True,
    "cluster": False,
}


async def load_prescreening_demo(
    session: AsyncSession,
    actor: Actor,
    *,
    institutions: dict[str, Institution],
    patient: Patient,
) -> None:
    for key, (name, address, hours, phone) in CLINICS.items():
        await add_clinic(
            session,
            actor,
            institution_id=institutions[key].id,
            name=name,
            address=address,
            hours=hours,
            phone=phone,
        )
    questionnaire = await published(session)
    patient_actor = Actor(role="patient", clock=actor.clock, account_id=patient.account_id)
    await submit(
        session,
        patient_actor,
        questionnaire_id=questionnaire.id,
        patient_id=patient.id,
        region_code="420111",
        answers=HIGH_RISK,
    )
