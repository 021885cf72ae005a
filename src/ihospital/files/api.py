"""JSON routes of stored files: a patient uploads (multipart), owners and granted readers fetch.

The upload route reads the body itself, after the caller is known and within the upload rate
limit, so that nobody gets a large body read before being refused. The request middleware stops
reading a body to ``/api/files`` just past the file limit (:func:`upload_body_limit`).
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.datastructures import UploadFile

from ihospital.config import Settings
from ihospital.core.context import Actor
from ihospital.core.middleware import BodyLimit
from ihospital.core.ratelimit import admit
from ihospital.deps import DbSession, require
from ihospital.errors import Unprocessable
from ihospital.files.audio import AUDIO_EXTENSIONS
from ihospital.files.inspection import PDF, too_large
from ihospital.files.schemas import StoredFileRead
from ihospital.files.service import get_file, open_file, store_upload
from ihospital.security.permissions import Permission

UPLOAD_PATH = "/api/files"
MULTIPART_ALLOWANCE = 64 * 1024  # boundaries, part headers and the small fields beside the file
router = APIRouter(prefix=UPLOAD_PATH, tags=["files"])
TOO_MANY_UPLOADS_MESSAGE = "Too many uploads. Try again in {retry_after} seconds."

Uploader = Annotated[Actor, Depends(require(Permission.FILES_UPLOAD))]
Reader = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]
FileId = Annotated[int, Path(ge=1, le=2**63 - 1)]
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "patient_id": {"type": "integer", "minimum": 1},
                    },
                }
            }
        },
    }
}


_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte of a single satisfiable ``Range`` of a ``size``-byte file; None
    (the whole file) for anything else: several ranges, nonsense, past the end."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    start, end = match.groups()
    if start == "":  # the last ``end`` bytes
        first, last = max(0, size - int(end)), size - 1
    else:
        first, last = int(start), min(int(end), size - 1) if end else size - 1
    return (first, last) if first <= last < size else None


def upload_body_limit(settings: Settings) -> BodyLimit:
    """The body limit of the upload route: one file of ``files_max_bytes`` and its envelope."""
    return BodyLimit(
        settings.files_max_bytes + MULTIPART_ALLOWANCE, too_large(settings.files_max_bytes)
    )


async def admit_upload(request: Request, actor: Actor) -> None:
    """Refuse an upload past the account's upload rate (pages that take a file use it too)."""
    settings = request.app.state.settings
    await admit(
        request.app.state.rate_limiter,
        f"files:account:{actor.account_id}",
        limit=settings.files_rate_per_account,
        window_seconds=settings.files_rate_window_seconds,
        code="files.too_many_uploads",
        message=TOO_MANY_UPLOADS_MESSAGE,
    )


def _patient_id(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < int(value) < 2**63:
        return int(value)
    raise Unprocessable(
        "files.bad_patient_id",
        "patient_id must be the number of one of your patients.",
        field="patient_id",
    )


@router.post("", status_code=201, openapi_extra=UPLOAD_BODY)
async def upload_file(request: Request, session: DbSession, actor: Uploader) -> StoredFileRead:
    """Upload one JPEG, PNG or PDF (field ``file``, at most ``IHOSPITAL_FILES_MAX_BYTES``) or
    a voice clip (WebM/Ogg Opus, M4A; at most 60 s and 2 MB), optionally about one of one's own
    就诊人 (``patient_id``). The type is decided by the content; image metadata such as GPS is
    removed; a clip's duration is read from its container."""
    await admit_upload(request, actor)
    # End the sign-in's read-only transaction before a phone sends up to 10 MB: on SQLite every
    # transaction holds the one write lock, and no transaction may wait on the network.
    await session.commit()
    max_bytes = request.app.state.settings.files_max_bytes
    form = await request.form(max_files=1, max_fields=3)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable(
                "files.missing", "Choose a file to upload (form field file).", field="file"
            )
        patient_id = _patient_id(form.get("patient_id"))
        data = await upload.read(max_bytes + 1)
        stored = await store_upload(
            session,
            actor,
            store=request.app.state.object_store,
            data=data,
            filename=upload.filename or "",
            max_bytes=max_bytes,
            patient_id=patient_id,
        )
    finally:
        await form.close()
    return StoredFileRead.from_file(stored)


@router.get("/{file_id}")
async def read_file(file_id: FileId, session: DbSession, actor: Reader) -> StoredFileRead:
    """A file's description, for its owner or an account it was shared with."""
    return StoredFileRead.from_file(await get_file(session, actor, file_id=file_id))


@router.get(
    "/{file_id}/content",
    response_class=Response,
    responses={
        200: {
            "content": {
                media: {}
                for media in ("image/jpeg", "image/png", "application/pdf", *AUDIO_EXTENSIONS)
            }
        }
    },
)
async def read_file_content(
    request: Request, file_id: FileId, session: DbSession, actor: Reader
) -> Response:
    """The stored bytes with their type; PDFs come as an attachment, pictures and voice clips
    inline. One byte range (``Range: bytes=a-b``) is answered with 206, as Safari asks before
    it plays a clip."""
    stored, data = await open_file(
        session, actor, store=request.app.state.object_store, file_id=file_id
    )
    disposition = "attachment" if stored.content_type == PDF else "inline"
    fallback = stored.original_name.encode("ascii", "replace").decode().replace("?", "_")
    status, headers = 200, {"Accept-Ranges": "bytes"}
    wanted = byte_range(request.headers.get("range"), len(data))
    if wanted is not None:
        first, last = wanted
        status, data = 206, data[first : last + 1]
        headers["Content-Range"] = f"bytes {first}-{last}/{stored.size_bytes}"
    return Response(
        content=data,
        status_code=status,
        media_type=stored.content_type,
        headers={
            **headers,
            "Content-Disposition": (
                f'{disposition}; filename="{fallback}"; '
                f"filename*=UTF-8''{quote(stored.original_name, safe='')}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
