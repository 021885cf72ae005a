"""The questionnaire editor's pages, as a browser without JavaScript uses them: start a draft,
add, move and remove questions, options and bands with buttons that post the whole form back,
see each problem next to its field in the admin's language, preview, publish as a new version
(issue 8, item 5)."""

from __future__ import annotations

from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.triage.prescreening import questionnaires
from ihospital.triage.prescreening.models import ScreeningQuestionnaireDraft
from tests.identity.builders import csrf_token, make_account
from tests.triage.editor_form import editor_fields
from tests.web.builders import sign_in_as

EN = {"Accept-Language": "en"}


async def _signed_in_admin(session, client, clock) -> None:
    admin = await make_account(session, role="platform_admin", clock=clock)
    await sign_in_as(session, client, account=admin, clock=clock)


async def _start(client, start: str = "current") -> str:
    response = await client.post(
        "/admin/prescreening/drafts", data={"csrf_token": await csrf_token(client), "start": start}
    )
    assert response.status_code == 303
    return response.headers["location"]


async def _press(client, path: str, action: str, **changes: str):
    """Post the editor as shown, with ``changes`` typed in, by pressing ``action``."""
    page = await client.get(path)
    assert page.status_code == 200
    fields = editor_fields(page.text) | {name.replace("__", "."): v for name, v in changes.items()}
    return await client.post(path, data={**fields, "action": action})


async def test_the_versions_page_offers_the_editor_and_keeps_the_json_import(
    session, client, clock
):
    await _signed_in_admin(session, client, clock)
    page = await client.get("/admin/prescreening")
    assert page.status_code == 200
    assert "基于当前版本新建草稿" in page.text and "高级：以 JSON 导入问卷定义" in page.text
    path = await _start(client)
    editor = await client.get(path)
    assert 'value="发热及呼吸道症状预检分诊"' in editor.text
    assert editor_fields(editor.text)["questions.0.bands.1.from"] == "38"
    listing = await client.get("/admin/prescreening")
    assert path in listing.text


async def test_a_question_is_added_filled_moved_and_removed_without_javascript(
    session, client, clock
):
    await _signed_in_admin(session, client, clock)
    path = await _start(client)
    added = await _press(client, path, "add_question")
    assert added.status_code == 303 and added.headers["location"].endswith("#question-5")
    changed = await _press(
        client,
        path,
        "apply:5",
        questions__5__id="fever_days",
        questions__5__kind="single",
        questions__5__label__zh="发热几天了？",
        questions__5__label__en="How many days of fever?",
    )
    assert changed.status_code == 303
    await _press(client, path, "add_option:5")
    await _press(client, path, "add_option:5")
    await _press(
        client,
        path,
        "up_question:5",
        **{
            "questions__5__options__0__id": "short",
            "questions__5__options__0__label__zh": "不到3天",
            "questions__5__options__0__label__en": "Under 3 days",
            "questions__5__options__1__id": "long",
            "questions__5__options__1__label__zh": "3天及以上",
            "questions__5__options__1__label__en": "3 days or more",
            "questions__5__options__1__points": "2",
        },
    )
    draft = await session.scalar(select(ScreeningQuestionnaireDraft))
    await session.refresh(draft)
    assert '"id":"fever_days"' in draft.document and draft.revision == 6
    page = await client.get(path)
    fields = editor_fields(page.text)
    assert fields["questions.4.id"] == "fever_days" and fields["questions.5.id"] == "cluster"
    assert fields["questions.4.options.1.points"] == "2"
    await _press(client, path, "remove_option:4:0")
    await _press(client, path, "remove_question:4")
    fields = editor_fields((await client.get(path)).text)
    assert "questions.5.id" not in fields and fields["questions.4.id"] == "cluster"


async def test_problems_stand_next_to_their_fields_and_nothing_is_published(session, client, clock):
    await _signed_in_admin(session, client, clock)
    current = await questionnaires.published(session)
    path = await _start(client)
    refused = await _press(
        client,
        path,
        "publish",
        questions__0__maximum="60",
        levels__1__min_score="4",
        questions__2__id="temperature",
    )
    assert refused.status_code == 422
    assert 'id="error-questions.0.maximum">以 °C 为单位的数值必须在 30 至 45 之间' in refused.text
    assert 'id="error-levels.1.min_score">得分 3 至 3 不属于任何等级' in refused.text
    assert 'id="error-questions.2.id">已有其他问题使用标识 temperature' in refused.text
    assert 'value="60"' in refused.text  # what was typed stays, and is saved
    assert (await questionnaires.published(session)).id == current.id
    page = await client.post(
        path, data={**editor_fields(refused.text), "action": "check"}, headers=EN
    )
    assert page.status_code == 422
    assert "A value in °C must lie between 30 and 45." in page.text


async def test_the_preview_shows_the_questionnaire_as_patients_see_it(session, client, clock):
    await _signed_in_admin(session, client, clock)
    path = await _start(client)
    previewed = await _press(
        client, path, "preview", intro__zh="请如实填写。", intro__en="Answer truthfully."
    )
    assert previewed.headers["location"] == f"{path}/preview"
    page = await client.get(f"{path}/preview")
    assert "请如实填写。" in page.text and 'name="q-symptoms" value="cough"' in page.text
    assert "6 分起" in page.text
    await _press(client, path, "save", title__en="")
    incomplete = await client.get(f"{path}/preview")
    assert "草稿尚未完成" in incomplete.text and "title.en" in incomplete.text


async def test_publishing_makes_the_next_version_and_the_patient_page_uses_it(
    session, client, clock
):
    await _signed_in_admin(session, client, clock)
    current = await questionnaires.published(session)
    path = await _start(client)
    published = await _press(
        client, path, "publish", questions__2__points_yes="4", intro__zh="说明", intro__en="About"
    )
    assert published.status_code == 303 and published.headers["location"] == "/admin/prescreening"
    listing = await client.get("/admin/prescreening")
    assert f"第 {current.version + 1} 版已发布" in listing.text
    now = await questionnaires.published(session)
    assert now.version == current.version + 1
    definition = questionnaires.definition_of(now)
    assert definition.questions[2].points_yes == 4 and definition.intro.en == "About"
    assert await session.scalar(select(ScreeningQuestionnaireDraft)) is None
    actions = set(
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("prescreening.%"))
        )
    )
    assert {"prescreening.draft_start", "prescreening.draft_publish"} <= actions


async def test_a_stale_form_does_not_overwrite_a_newer_save(session, client, clock):
    await _signed_in_admin(session, client, clock)
    path = await _start(client)
    old = editor_fields((await client.get(path)).text)
    await _press(client, path, "save", title__zh="甲")
    stale = await client.post(path, data={**old, "title.zh": "乙", "action": "save"})
    assert stale.status_code == 409 and "他人已修改了它" in stale.text
    assert 'value="甲"' in stale.text


async def test_an_imported_definition_becomes_a_draft_and_a_blank_draft_can_be_discarded(
    session, client, clock
):
    await _signed_in_admin(session, client, clock)
    token = await csrf_token(client)
    definition = questionnaires.stored(questionnaires.default_definition())
    imported = await client.post(
        "/admin/prescreening", data={"csrf_token": token, "definition": definition}
    )
    assert (
        imported.status_code == 303
        and "/admin/prescreening/drafts/" in imported.headers["location"]
    )
    broken = await client.post(
        "/admin/prescreening", data={"csrf_token": token, "definition": "{}"}
    )
    assert broken.status_code == 422
    blank = await _start(client, "blank")
    fields = editor_fields((await client.get(blank)).text)
    assert fields["questions.0.kind"] == "yes_no" and fields["levels.0.min_score"] == "0"
    discarded = await client.post(
        f"{blank}/discard", data={"csrf_token": token, "revision": fields["revision"]}
    )
    assert discarded.status_code == 303
    assert (await client.get(blank)).status_code == 404


async def test_levels_are_removed_and_added_back_and_an_unreadable_form_saves_nothing(
    session, client, clock
):
    await _signed_in_admin(session, client, clock)
    path = await _start(client)
    await _press(client, path, "remove_level:1")
    fields = editor_fields((await client.get(path)).text)
    assert [fields.get(f"levels.{i}.level") for i in range(3)] == ["low", "high", None]
    added = await _press(client, path, "add_level")
    assert added.headers["location"].endswith("#levels")
    fields = editor_fields((await client.get(path)).text)
    assert fields["levels.2.level"] == "medium"
    checked = await client.post(path, data={**fields, "action": "check"})
    assert checked.status_code == 422
    assert 'id="error-levels.2.level">每个等级只能出现一次' in checked.text

    fields = editor_fields(checked.text)  # checking saved the draft too
    revision = fields["revision"]
    unreadable = await client.post(path, data={**fields, "questions.0.kind": "essay"})
    assert unreadable.status_code == 422 and "无法读取表单，未保存任何内容" in unreadable.text
    draft = await session.scalar(select(ScreeningQuestionnaireDraft))
    await session.refresh(draft)
    assert str(draft.revision) == revision
