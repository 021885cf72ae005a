"""Storing uploads and reading them back, for the owner and for those granted access.

A file is read by the account that uploaded it, or by an account another domain granted access
to (:func:`grant_file_access`: the consultation gives its doctor the patient's attachments).
Anyone else is told the file does not exist. Every read of a file about a 就诊人, and every read
by someone other than the owner, is audited (R13).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, ServiceUnavailable
from ihospital.files.cleanup import delete_if_rolled_back
from ihospital.files.inspection import inspect_upload, safe_name
from ihospital.files.models import FileGrant, StoredFile
from ihospital.files.storage import ObjectStore, ObjectStoreError, new_key
from ihospital.identity.patients import lock_patient_for_action


def _store_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "files.store_unavailable", "Files cannot be stored or fetched right now. Try again later."
    )


async def store_upload(
    session: AsyncSession,
    actor: Actor,
    *,
    store: ObjectStore,
    data: bytes,
    filename: str,
    max_bytes: int,
    patient_id: int | None = None,
) -> StoredFile:
    """Check ``data`` by its content (JPEG, PNG, PDF or a voice clip of at most 60 s, at most
    ``max_bytes``, no executables,
    image metadata such as GPS removed) and keep it for the actor, about one of their own
    就诊人 when ``patient_id`` is given. A refused file leaves no row and no object, and so
    does a transaction that rolls back later (:mod:`ihospital.files.cleanup`)."""
    inspected = await asyncio.to_thread(
        inspect_upload, data, filename=filename, max_bytes=max_bytes
    )
    # the object first, the rows after: no database lock is held while the store answers
    key = new_key()
    delete_if_rolled_back(session, store, key)  # the request's commit may still fail
    try:
        await store.put(key, inspected.data, content_type=inspected.content_type)
    except ObjectStoreError as failure:
        raise _store_unavailable() from failure
    try:
        if patient_id is not None:
            patient = await lock_patient_for_action(session, actor, patient_id=patient_id)
            if not patient.is_active:
                raise Conflict(
                    "files.patient_removed",
                    "This patient has been removed; files can no longer be added for them.",
                    field="patient_id",
                )
        stored = StoredFile(
            owner_account_id=actor.account_id,
            patient_id=patient_id,
            content_type=inspected.content_type,
            size_bytes=len(inspected.data),
            sha256=hashlib.sha256(inspected.data).hexdigest(),
            storage_key=key,
            original_name=safe_name(filename, inspected.content_type),
            duration_ms=inspected.duration_ms,
            created_at=actor.clock.now(),
        )
        session.add(stored)
        await session.flush()
        await record(
            session,
            actor,
            action="file.upload",
            subject_type="stored_file",
            subject_id=stored.id,
            patient_id=patient_id,
            details={"content_type": stored.content_type, "size_bytes": stored.size_bytes},
        )
    except BaseException:
        with contextlib.suppress(ObjectStoreError):  # the row did not make it: nor may the object
            await store.delete(key)
        raise
    return stored


async def _readable(session: AsyncSession, actor: Actor, file_id: int) -> StoredFile:
    stored = await session.get(StoredFile, file_id)
    if stored is not None and actor.account_id is not None:
        if stored.owner_account_id == actor.account_id:
            return stored
        granted = await session.scalar(
            select(FileGrant.id)
            .where(FileGrant.file_id == file_id, FileGrant.account_id == actor.account_id)
            .limit(1)
        )
        if granted is not None:
            return stored
    raise NotFound("files.not_found", "File {file_id} was not found.", file_id=file_id)


async def _audit_read(session: AsyncSession, actor: Actor, stored: StoredFile, action: str) -> None:
    if stored.patient_id is not None or stored.owner_account_id != actor.account_id:
        await record(
            session,
            actor,
            action=action,
            subject_type="stored_file",
            subject_id=stored.id,
            patient_id=stored.patient_id,
        )


async def get_file(session: AsyncSession, actor: Actor, *, file_id: int) -> StoredFile:
    """A file's description (type, size, name) for its owner or a granted reader; anyone else
    gets "not found". Audited when it concerns a 就诊人 or the reader is not the owner (R13)."""
    stored = await _readable(session, actor, file_id)
    await _audit_read(session, actor, stored, "file.read_metadata")
    return stored


async def open_file(
    session: AsyncSession, actor: Actor, *, store: ObjectStore, file_id: int
) -> tuple[StoredFile, bytes]:
    """A file and its bytes for its owner or a granted reader (as :func:`get_file`); the read
    is audited on the same terms (R13)."""
    stored = await _readable(session, actor, file_id)
    try:
        data = await store.get(stored.storage_key)
    except ObjectStoreError as failure:
        raise _store_unavailable() from failure
    await _audit_read(session, actor, stored, "file.read")
    return stored, data


async def grant_file_access(
    session: AsyncSession, actor: Actor, *, file_id: int, account_id: int, reason: str
) -> FileGrant:
    """Let ``account_id`` read the file, for ``reason`` (``consultation:42``). Called by the
    service of the domain that decided it (the treating doctor of a consultation), never by a
    route. Granting the same again changes nothing; each new grant is audited."""
    existing = await session.scalar(
        select(FileGrant).where(
            FileGrant.file_id == file_id,
            FileGrant.account_id == account_id,
            FileGrant.reason == reason,
        )
    )
    if existing is not None:
        return existing
    stored = await session.get(StoredFile, file_id)
    if stored is None:
        raise NotFound("files.not_found", "File {file_id} was not found.", file_id=file_id)
    grant = FileGrant(
        file_id=file_id, account_id=account_id, reason=reason, granted_at=actor.clock.now()
    )
    session.add(grant)
    await session.flush()
    await record(
        session,
        actor,
        action="file.grant",
        subject_type="stored_file",
        subject_id=file_id,
        patient_id=stored.patient_id,
        details={"account_id": account_id, "reason": reason},
    )
    return grant
