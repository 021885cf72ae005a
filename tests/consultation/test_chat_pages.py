"""The chat on the consultation pages without JavaScript: the patient sends text and a picture,
the doctor reads and replies (a quick reply too), receipts show; refusals come back as a notice
and store nothing; another patient or doctor can neither see nor post."""

import io
import os

from PIL import Image
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.identity.models import Account
from tests.consultation.builders import make_practice, start
from tests.consultation.chat_builders import make_chat
from tests.directory.builders import doctor_account, make_doctor
from tests.files.builders import png_with_text
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as


async def _as(session, client, clock, account) -> dict[str, str]:
    await sign_in_as(session, client, account=account, clock=clock)
    return {"csrf_token": await csrf_token(client)}


async def _as_patient(session, client, clock, chat):
    account = await session.get(Account, chat.consultation.account_id)
    return await _as(session, client, clock, account)


async def _as_doctor(session, client, clock, view):
    return await _as(session, client, clock, await doctor_account(session, view=view))


async def _messages(session, consultation_id: int) -> list[ConsultationMessage]:
    statement = select(ConsultationMessage).where(
        ConsultationMessage.consultation_id == consultation_id,
        ConsultationMessage.sender_role != "system",
    )
    return list((await session.scalars(statement.order_by(ConsultationMessage.id))).all())


async def test_patient_and_doctor_talk_through_the_forms(client, session, clock):
    chat = await make_chat(session, clock=clock)
    consultation_id = chat.consultation.id
    page_path = f"/consultations/{consultation_id}"
    token = await _as_patient(session, client, clock, chat)

    page = await client.get(page_path)
    assert 'id="chat"' in page.text and "医生已接诊。" in page.text  # the system notice
    assert f'action="{page_path}/messages"' in page.text
    assert 'http-equiv="refresh"' in page.text and "<noscript>" in page.text
    assert 'name="attachment"' in page.text and "快捷回复" not in page.text
    sent = await client.post(f"{page_path}/messages", data={**token, "text": "我头晕两天了"})
    assert (sent.status_code, sent.headers["location"]) == (303, f"{page_path}#chat")
    page = await client.get(page_path)
    assert "消息已发送" in page.text and "我头晕两天了" in page.text and "未读" in page.text

    picture = await client.post(
        f"{page_path}/messages",
        data={**token, "text": ""},
        files={"attachment": ("report.png", png_with_text(), "image/png")},
    )
    assert picture.status_code == 303
    [text, image] = await _messages(session, consultation_id)
    assert (image.kind, image.text) == ("image", None) and image.file_id is not None
    page = await client.get(page_path)
    assert f'<img src="/api/files/{image.file_id}/content"' in page.text

    token = await _as_doctor(session, client, clock, chat.practice.doctor)
    desk = await client.get(f"/doctor{page_path}")
    assert "我头晕两天了" in desk.text and f'href="/api/files/{image.file_id}/content"' in desk.text
    assert f'value="{image.id}"' in desk.text  # mark as read up to the picture
    assert "快捷回复" in desk.text and 'name="attachment"' in desk.text
    assert (await client.get(f"/api/files/{image.file_id}/content")).status_code == 200
    reply = await client.post(
        f"/doctor{page_path}/messages",
        data={**token, "text": "", "quick_reply": "medicine", "read_up_to": str(image.id)},
    )
    assert reply.headers["location"] == f"/doctor{page_path}#chat"
    *_, answer = await _messages(session, consultation_id)
    assert (answer.sender_role, answer.text) == ("doctor", "请告诉我您现在所用药物的名称和剂量。")
    await session.refresh(text)
    assert text.read_at is not None
    leaflet = await client.post(
        f"/doctor{page_path}/messages",
        data={**token, "text": "这是饮食建议。"},
        files={"attachment": ("diet.png", png_with_text(), "image/png")},
    )
    assert leaflet.status_code == 303
    *_, shared = await _messages(session, consultation_id)
    assert (shared.sender_role, shared.kind, shared.text) == ("doctor", "image", "这是饮食建议。")

    await _as_patient(session, client, clock, chat)
    page = await client.get(page_path)
    assert "请告诉我您现在所用药物的名称和剂量。" in page.text
    assert 'class="chat-receipt is-read">已读' in page.text
    token = {"csrf_token": await csrf_token(client)}
    marked = await client.post(f"{page_path}/messages/read", data={**token, "up_to": answer.id})
    assert marked.status_code == 303
    await session.refresh(answer)
    assert answer.read_at is not None


async def test_a_refused_message_shows_its_reason_and_stores_nothing(client, session, clock):
    chat = await make_chat(session, clock=clock, accepted=False)
    page_path = f"/consultations/{chat.consultation.id}"
    token = await _as_patient(session, client, clock, chat)
    page = await client.get(page_path)
    assert f'action="{page_path}/messages"' not in page.text  # nothing to send before accepting
    refused = await client.post(f"{page_path}/messages", data={**token, "text": "在吗"})
    assert refused.status_code == 303
    assert "医生接诊后才能发送消息" in (await client.get(page_path)).text

    empty = await make_chat(session, clock=clock)
    token = await _as_patient(session, client, clock, empty)
    path = f"/consultations/{empty.consultation.id}"
    await client.post(f"{path}/messages", data={**token, "text": "  "})
    assert "请输入 1 到 2000 个字的消息" in (await client.get(path)).text
    bad_file = await client.post(
        f"{path}/messages",
        data=token,
        files={"attachment": ("a.png", b"plain words", "image/png")},
    )
    assert bad_file.status_code == 303
    assert await _messages(session, chat.consultation.id) == []
    assert await _messages(session, empty.consultation.id) == []


async def test_another_patient_or_doctor_cannot_see_or_post(client, session, clock):
    chat = await make_chat(session, clock=clock)
    consultation_id = chat.consultation.id
    stranger = await make_patient(session, clock=clock)
    token = await _as(session, client, clock, await session.get(Account, stranger.account_id))
    assert (await client.get(f"/consultations/{consultation_id}")).status_code == 404
    for path in ("messages", "messages/read"):
        refused = await client.post(
            f"/consultations/{consultation_id}/{path}", data={**token, "text": "x", "up_to": "1"}
        )
        assert refused.status_code == 404, path

    other_doctor = await make_doctor(session, clock=clock, institution=chat.practice.institution)
    token = await _as_doctor(session, client, clock, other_doctor)
    assert (await client.get(f"/doctor/consultations/{consultation_id}")).status_code == 404
    for path in ("messages", "messages/read"):
        refused = await client.post(
            f"/doctor/consultations/{consultation_id}/{path}",
            data={**token, "text": "x", "up_to": "1"},
        )
        assert refused.status_code == 404, path
    assert await _messages(session, consultation_id) == []


async def test_reading_the_page_is_audited_once(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    consultation = await start(session, clock, practice, person)
    await _as(session, client, clock, await session.get(Account, person.account_id))
    assert (await client.get(f"/consultations/{consultation.id}")).status_code == 200
    reads = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "consultation.messages_read",
            AuditEntry.subject_id == str(consultation.id),
        )
    )
    assert reads == 1


async def test_a_phone_photo_larger_than_other_forms_may_be_is_sent(
    client, session, clock, settings
):
    chat = await make_chat(session, clock=clock)
    token = await _as_patient(session, client, clock, chat)
    out = io.BytesIO()
    Image.frombytes("RGB", (640, 640), os.urandom(640 * 640 * 3)).save(out, "PNG")
    assert settings.max_body_bytes < len(out.getvalue()) < settings.files_max_bytes
    sent = await client.post(
        f"/consultations/{chat.consultation.id}/messages",
        data=token,
        files={"attachment": ("photo.png", out.getvalue(), "image/png")},
    )
    assert sent.status_code == 303
    [photo] = await _messages(session, chat.consultation.id)
    assert photo.kind == "image"


async def test_configured_quick_replies_replace_the_built_in_ones(client, session, clock, app):
    chat = await make_chat(session, clock=clock)
    app.state.settings = app.state.settings.model_copy(
        update={"consultation_quick_replies": ["请按时服药"]}
    )
    token = await _as_doctor(session, client, clock, chat.practice.doctor)
    path = f"/doctor/consultations/{chat.consultation.id}"
    page = await client.get(path)
    assert 'data-phrase="请按时服药"' in page.text and "已收到您的消息" not in page.text
    await client.post(f"{path}/messages", data={**token, "text": "好的", "quick_reply": "0"})
    [reply] = await _messages(session, chat.consultation.id)
    assert reply.text == "好的\n请按时服药"
