"""Uploading and reading files over HTTP: content decides the type, metadata is stripped,
oversized or dangerous files leave nothing behind, and only the owner or a granted reader sees
a file (everyone else gets the same 404 as for a file that does not exist)."""

from __future__ import annotations

import asyncio
import hashlib
from io import BytesIO

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from ihospital.app import create_app
from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.files.models import StoredFile
from ihospital.files.service import grant_file_access
from ihospital.identity.patients import deactivate_patient
from tests.directory.builders import doctor_account, make_doctor, make_institution
from tests.files.builders import ELF, HTML, SECRET, jpeg_with_gps, pdf, png_with_text, upload
from tests.identity.builders import auth_headers, make_account, make_patient

MB = 1024 * 1024


@pytest.fixture
async def owner(session, clock):
    """A patient account with its own 就诊人 and API headers."""
    account = await make_account(session, clock=clock)
    patient = await make_patient(session, account=account, clock=clock)
    return account, patient, await auth_headers(session, account=account, clock=clock)


async def _rows(session) -> int:
    return await session.scalar(select(func.count()).select_from(StoredFile))


def _objects(settings) -> list:
    root = settings.data_dir / "files"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def _audits(session, action: str, file_id: int) -> list[AuditEntry]:
    query = select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.subject_id == str(file_id)
    )
    return list((await session.scalars(query)).all())


async def test_a_phone_photo_is_stored_without_exif_or_gps(client, session, settings, owner):
    account, patient, headers = owner
    response = await upload(client, headers, data=jpeg_with_gps(), patient_id=patient.id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["content_type"], body["patient_id"], body["original_name"]) == (
        "image/jpeg",
        patient.id,
        "photo.jpg",
    )
    [stored_path] = _objects(settings)
    stored = stored_path.read_bytes()
    assert SECRET not in stored and b"PhoneMaker" not in stored
    assert body["sha256"] == hashlib.sha256(stored).hexdigest()
    assert body["size_bytes"] == len(stored)
    with Image.open(BytesIO(stored)) as image:
        assert len(image.getexif()) == 0 and image.size == (32, 64)
    [entry] = await _audits(session, "file.upload", body["id"])
    assert (entry.actor_account_id, entry.patient_id) == (account.id, patient.id)

    content = await client.get(body["content_url"], headers=headers)
    assert content.status_code == 200
    assert content.content == stored
    assert content.headers["content-type"] == "image/jpeg"
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith('inline; filename="photo.jpg"')
    assert "sandbox" in content.headers["content-security-policy"]
    assert len(await _audits(session, "file.read", body["id"])) == 1  # about a 就诊人: audited


async def test_a_png_is_stored_without_its_text_chunks(client, settings, owner):
    _, _, headers = owner
    response = await upload(client, headers, data=png_with_text(), name="scan.png")
    assert response.status_code == 201, response.text
    [stored_path] = _objects(settings)
    stored = stored_path.read_bytes()
    assert SECRET not in stored and b"tEXt" not in stored and b"iTXt" not in stored


async def test_a_pdf_is_accepted_and_served_as_an_attachment(client, owner):
    _, _, headers = owner
    document = pdf()
    response = await upload(
        client, headers, data=document, name="血常规报告.pdf", declared_type="text/plain"
    )
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "application/pdf"
    content = await client.get(response.json()["content_url"], headers=headers)
    assert content.content == document
    assert content.headers["content-type"] == "application/pdf"
    disposition = content.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''%E8%A1%80%E5%B8%B8%E8%A7%84%E6%8A%A5%E5%91%8A.pdf" in disposition


async def test_an_11_mb_file_is_refused_and_nothing_is_stored(client, session, settings, owner):
    _, _, headers = owner
    response = await upload(client, headers, data=b"\xff\xd8\xff" + b"\0" * (11 * MB))
    assert response.status_code == 413
    assert response.json()["code"] == "files.too_large"
    assert (await _rows(session), _objects(settings)) == (0, [])


async def test_a_file_just_over_the_limit_is_refused_by_the_route(client, session, settings, owner):
    _, _, headers = owner
    response = await upload(client, headers, data=b"\xff\xd8\xff" + b"\0" * (10 * MB))
    assert (response.status_code, response.json()["code"]) == (413, "files.too_large")
    assert (await _rows(session), _objects(settings)) == (0, [])


async def test_a_streamed_upload_is_cut_off_just_past_the_limit(client, session, owner):
    """A chunked body (no Content-Length) of 50 MB: reading stops soon after 10 MB."""
    _, _, headers = owner
    sent = 0

    async def body():
        nonlocal sent
        yield (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff"
        )
        for _ in range(50 * 16):
            sent += 64 * 1024
            yield b"\0" * (64 * 1024)
        yield b"\r\n--b--\r\n"

    response = await client.post(
        "/api/files",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
        content=body(),
    )
    assert (response.status_code, response.json()["code"]) == (413, "files.too_large")
    assert sent < 11 * MB
    assert await _rows(session) == 0


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (pdf(), "photo.jpg", 422, "files.not_matching_name"),
        (ELF, "x.png", 415, "files.executable"),
        (HTML, "a.jpg", 415, "files.executable"),
        (b"", "a.jpg", 422, "files.empty"),
        (b"plain words", "a.png", 415, "files.unsupported_type"),
    ],
    ids=["pdf-named-jpg", "elf-named-png", "html-named-jpg", "empty", "text-named-png"],
)
async def test_files_that_are_not_what_they_claim_are_refused(
    client, session, settings, owner, data, name, status, code
):
    _, _, headers = owner
    response = await upload(client, headers, data=data, name=name)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["field"]) == (code, "file")
    assert (await _rows(session), _objects(settings)) == (0, [])


async def test_an_upload_without_a_file_or_with_a_bad_patient_id_is_refused(client, owner):
    _, _, headers = owner
    missing = await client.post("/api/files", headers=headers, data={"patient_id": "1"})
    assert (missing.status_code, missing.json()["code"]) == (422, "files.missing")
    bad = await upload(client, headers, data=pdf(), name="a.pdf", patient_id=-1)
    assert (bad.status_code, bad.json()["code"]) == (422, "files.bad_patient_id")


async def test_a_file_cannot_be_filed_under_another_accounts_patient(
    client, session, settings, owner
):
    _, _, headers = owner
    stranger = await make_patient(session)
    response = await upload(client, headers, data=pdf(), name="a.pdf", patient_id=stranger.id)
    assert (response.status_code, response.json()["code"]) == (404, "identity.patient_not_found")
    assert (await _rows(session), _objects(settings)) == (0, [])


async def test_no_file_can_be_added_for_a_removed_patient(client, session, settings, clock, owner):
    account, patient, headers = owner
    actor = Actor(role="patient", clock=clock, account_id=account.id)
    await deactivate_patient(session, actor, patient_id=patient.id)
    response = await upload(client, headers, data=pdf(), name="a.pdf", patient_id=patient.id)
    assert (response.status_code, response.json()["code"]) == (409, "files.patient_removed")
    assert (await _rows(session), _objects(settings)) == (0, [])


async def test_another_patient_cannot_read_the_file(client, session, clock, owner):
    _, patient, headers = owner
    file_id = (
        await upload(client, headers, data=pdf(), name="a.pdf", patient_id=patient.id)
    ).json()["id"]
    other = await auth_headers(session, account=await make_account(session), clock=clock)
    for path in (f"/api/files/{file_id}", f"/api/files/{file_id}/content"):
        theirs = await client.get(path, headers=other)
        missing = await client.get(path.replace(str(file_id), "987654321"), headers=other)
        assert (theirs.status_code, theirs.json()["code"]) == (404, "files.not_found")
        assert theirs.json()["detail"] == missing.json()["detail"].replace(
            "987654321", str(file_id)
        )
    assert await _audits(session, "file.read", file_id) == []


async def test_a_doctor_reads_a_file_only_once_granted_and_the_read_is_audited(
    client, session, clock, owner
):
    _, patient, headers = owner
    file_id = (
        await upload(client, headers, data=pdf(), name="a.pdf", patient_id=patient.id)
    ).json()["id"]
    doctor = await doctor_account(
        session,
        view=await make_doctor(
            session, clock=clock, institution=await make_institution(session, clock=clock)
        ),
    )
    doctor_headers = await auth_headers(session, account=doctor, clock=clock)
    before = await client.get(f"/api/files/{file_id}/content", headers=doctor_headers)
    assert before.status_code == 404

    system = Actor.system(clock)
    first = await grant_file_access(
        session, system, file_id=file_id, account_id=doctor.id, reason="consultation:1"
    )
    again = await grant_file_access(
        session, system, file_id=file_id, account_id=doctor.id, reason="consultation:1"
    )
    assert first.id == again.id
    assert len(await _audits(session, "file.grant", file_id)) == 1

    metadata = await client.get(f"/api/files/{file_id}", headers=doctor_headers)
    content = await client.get(f"/api/files/{file_id}/content", headers=doctor_headers)
    assert metadata.status_code == 200 and content.status_code == 200
    [read] = await _audits(session, "file.read", file_id)
    assert (read.actor_account_id, read.patient_id) == (doctor.id, patient.id)
    assert len(await _audits(session, "file.read_metadata", file_id)) == 1


async def test_doctors_upload_their_answers_but_never_about_a_patient(client, session, clock):
    """A doctor uploads voice answers and pictures for a consultation's chat; a file about a
    就诊人 stays the patient account's to make."""
    doctor = await doctor_account(
        session,
        view=await make_doctor(
            session, clock=clock, institution=await make_institution(session, clock=clock)
        ),
    )
    headers = await auth_headers(session, account=doctor, clock=clock)
    response = await upload(client, headers, data=pdf(), name="a.pdf")
    assert (response.status_code, response.json()["patient_id"]) == (201, None)
    patient = await make_patient(session, clock=clock)
    about = await upload(client, headers, data=pdf(), name="a.pdf", patient_id=patient.id)
    assert about.status_code == 404
    assert about.headers["content-type"].startswith("application/problem+json")


async def test_uploads_are_rate_limited_per_account(app, client, session, settings, owner):
    _, _, headers = owner
    app.state.settings = settings.model_copy(update={"files_rate_per_account": 2})
    for _ in range(2):
        assert (await upload(client, headers, data=pdf(), name="a.pdf")).status_code == 201
    refused = await upload(client, headers, data=pdf(), name="a.pdf")
    assert (refused.status_code, refused.json()["code"]) == (429, "files.too_many_uploads")
    assert int(refused.headers["retry-after"]) > 0
    assert await _rows(session) == 2


async def test_a_slow_upload_holds_no_transaction_while_its_body_arrives(
    databases, settings, clock
):
    """While a phone is still sending its picture, the rest of the system writes: the upload
    ends its sign-in's transaction before reading the body (on SQLite every transaction holds
    the one write lock, so a held one would stop every other write)."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    try:
        async with factory() as session, session.begin():
            account = await make_account(session, clock=clock)
            headers = await auth_headers(session, account=account, clock=clock)
        app = create_app(settings, clock=clock, engine=engine)
        picture = jpeg_with_gps()
        halfway, go_on = asyncio.Event(), asyncio.Event()

        async def body():
            yield (
                b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
                b"Content-Type: image/jpeg\r\n\r\n" + picture[:100]
            )
            halfway.set()
            await go_on.wait()
            yield picture[100:] + b"\r\n--b--\r\n"

        async def another_write() -> None:
            async with factory() as session, session.begin():
                await make_account(session, clock=clock)

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            uploading = asyncio.create_task(
                client.post(
                    "/api/files",
                    headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
                    content=body(),
                )
            )
            await asyncio.wait_for(halfway.wait(), 10)
            await asyncio.wait_for(another_write(), 10)  # not queued behind the upload
            go_on.set()
            response = await asyncio.wait_for(uploading, 10)
        assert response.status_code == 201, response.text
    finally:
        await engine.dispose()
