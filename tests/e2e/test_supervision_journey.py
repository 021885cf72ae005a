"""Supervision in real browsers: a doctor's prescription of a specially controlled drug online
is refused on the page with the rule named (R10) and nothing is written; a prescription left
waiting for review past the limit fires rule R13.1 through the outbox worker inside the app;
the regulator of the region sees the alert on the alerts page, acknowledges it, is refused
when resolving it without a note, and resolves it with one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from ihospital.core.clock import Clock, FrozenClock
from ihospital.core.context import Actor
from ihospital.identity.accounts import create_account
from ihospital.identity.models import Account
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.review_statistics import raise_overdue_alerts
from tests.consultation.builders import PRIOR, in_progress, make_practice
from tests.directory.builders import PASSWORD as DOCTOR_PASSWORD
from tests.directory.builders import new_mobile
from tests.e2e.conftest import LiveServer, live_settings, serving
from tests.e2e.test_command_board import _run
from tests.e2e.test_patient_journey import PASSWORD, _sign_in, _sign_in_on_duty
from tests.identity.builders import make_patient
from tests.prescribing.builders import MORPHINE, Line, make_drug, make_prescription

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def worker_server(databases, tmp_path_factory) -> AsyncIterator[LiveServer]:
    path = tmp_path_factory.mktemp("supervision")
    settings = live_settings(path, await databases.fresh(), worker_poll_seconds=0.2)
    async with serving(settings, worker=True) as server:
        yield server


@dataclass(frozen=True)
class Scene:
    doctor_mobile: str
    regulator_mobile: str
    consultation_id: int
    waiting_number: str


async def _scene(session) -> Scene:
    """A doctor of a Beijing internet hospital in a diagnostic consultation, a prescription of
    theirs signed 45 minutes ago still waiting for review, and a regulator of Beijing."""
    clock = Clock()
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, name="王建国", clock=clock)
    consultation = await in_progress(session, clock, practice, patient, prior=PRIOR)
    await make_drug(session, clock=clock, **MORPHINE)
    earlier = FrozenClock(clock.now() - timedelta(minutes=45))
    waiting = await make_prescription(
        session,
        clock=earlier,
        doctor=practice.doctor,
        consultation=consultation,
        lines=[Line(await make_drug(session, clock=clock))],
    )
    regulator = await create_account(
        session,
        Actor.system(clock),
        mobile=new_mobile(),
        password=PASSWORD,
        role="regulator",
        display_name="北京市卫健委监管员",
        region_code="110000",
        mobile_verified=True,
    )
    doctor = await session.get(Account, practice.doctor.account_id)
    return Scene(doctor.mobile, regulator.mobile, consultation.id, waiting.number)


async def _sweep(session) -> int:
    """The review sweep of the worker, now: the waiting prescription is overdue."""
    return await raise_overdue_alerts(session, Actor.system(Clock()), limit_minutes=30)


async def _prescriptions(session) -> int:
    return await session.scalar(select(func.count()).select_from(Prescription))


def test_a_banned_drug_is_refused_an_alert_fires_and_the_regulator_resolves_it(
    worker_server, browser_page: Page
):
    page, scene = browser_page, _run(worker_server, _scene)
    assert isinstance(scene, Scene)
    _sign_in_on_duty(page, worker_server, scene.doctor_mobile, password=DOCTOR_PASSWORD)
    page.goto(f"{worker_server.url}/doctor/consultations/{scene.consultation_id}/prescription")
    page.get_by_label("诊断（ICD-10 编码，以逗号分隔）").fill("I10")
    page.get_by_label("药名、拼音首字母或医保编码").fill("ysmfp")
    page.get_by_role("button", name="搜索").click()
    page.locator("#rx-drug-results").get_by_role("button", name="添加").first.click()
    page.get_by_label("单次剂量").fill("10")
    page.get_by_role("spinbutton", name="日期").fill("3")  # days of supply
    page.get_by_role("button", name="签名并提交").click()

    finding = page.locator('[data-finding="rx.special_class"]')
    expect(finding).to_contain_text("盐酸吗啡片属于特殊管理药品")
    expect(finding).to_contain_text("监管规则 R10")
    assert _run(worker_server, _prescriptions) == 1  # only the one waiting for review

    assert _run(worker_server, _sweep) == 1
    page.context.clear_cookies()
    _sign_in(page, worker_server, scene.regulator_mobile)
    row = page.locator("table.alerts tbody tr").filter(has_text="R13.1")
    for _ in range(50):  # the worker inside the app opens the alert within moments
        page.goto(f"{worker_server.url}/supervision/alerts")
        if row.count():
            break
        page.wait_for_timeout(200)
    expect(row).to_contain_text("待处理")
    row.get_by_role("link", name="R13.1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("R13.1")
    expect(page.locator("main")).to_contain_text(scene.waiting_number)

    page.get_by_role("button", name="确认已知悉").click()
    expect(page.locator(".alert-status")).to_contain_text("已知悉")
    page.get_by_label("备注").fill("   ")  # only spaces: no note
    page.get_by_role("button", name="处理完毕").click()
    expect(page.locator("#error-note")).to_contain_text("请填写处理备注")
    expect(page.locator(".alert-status")).to_contain_text("已知悉")
    page.get_by_label("备注").fill("已督促药师审核，处方已审结")
    page.get_by_role("button", name="处理完毕").click()
    expect(page.locator(".alert-status")).to_contain_text("已处理")
    expect(page.locator(".resolution-note")).to_contain_text("已督促药师审核")
