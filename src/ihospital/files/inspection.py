"""What an upload really is, decided by its bytes (never by its name or declared type).

JPEG, PNG and PDF are accepted, and voice clips (WebM or Ogg with Opus, MP4 with AAC) of at most
:data:`VOICE_MAX_SECONDS` seconds and :data:`VOICE_MAX_BYTES` bytes, measured from their container
by :mod:`ihospital.files.audio` (kept as sent). Images are fully decoded by Pillow, turned upright
by their EXIF orientation and encoded afresh, so EXIF (with GPS), XMP, comments, text chunks and
anything appended to the picture are left behind; an image of more than :data:`MAX_PIXELS` is
refused before it is decoded (a decompression bomb), and few are decoded at once. A PDF must have
the ``%PDF-`` header and an ``%%EOF`` trailer and must not name active content (scripts, launch
actions, embedded files), neither in its bytes nor in its compressed object streams
(:mod:`ihospital.files.pdf_streams`, inflated up to a cap); files are served as attachments with
``nosniff`` and a sandboxing Content-Security-Policy as well.
Executables and markup (HTML, SVG, XML, scripts) are refused whatever they are called.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath

from PIL import Image, ImageOps

from ihospital.errors import AppError, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from ihospital.files.audio import AUDIO_EXTENSIONS, BadAudio, NotVoice, duration_ms, sniff_audio
from ihospital.files.pdf_streams import PdfTooComplex, names_active_content

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
EXTENSIONS = {
    JPEG: (".jpg", ".jpeg", ".jpe", ".jfif"),
    PNG: (".png",),
    PDF: (".pdf",),
    **AUDIO_EXTENSIONS,
}
VOICE_MAX_SECONDS = 60
VOICE_MAX_BYTES = 2 * 1024 * 1024  # 60 s of AAC at 256 kbit/s, far above what recorders use
_VOICE_SLACK_MS = 500  # a recorder stopped at 60 s writes a little more
_MAGIC = ((b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG), (b"%PDF-", PDF))
_PIL_FORMATS = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",)}
_EXECUTABLE_MAGIC = (
    b"\x7fELF",  # Linux and most Unix
    b"MZ",  # Windows (PE) and DOS
    b"\xfe\xed\xfa\xce",  # Mach-O, both byte orders, 32 and 64 bit, and universal binaries
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",  # scripts
)
_MARKUP = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype|html|head|body|script|svg|\?xml|iframe|object|embed)",
    re.IGNORECASE,
)
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_UNSAFE_NAME_CHARACTERS = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|;]')
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Inspected:
    """An accepted upload: its type, the bytes to keep (images re-encoded) and, for a voice
    clip, how long it plays."""

    content_type: str
    data: bytes
    duration_ms: int | None = None


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "files.too_large",
        "A file may be at most {limit_mb} MB.",
        limit_mb=max_bytes // (1024 * 1024),
        field="file",
    )


def _unsupported() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        "files.unsupported_type",
        "Only JPEG, PNG and PDF files and voice clips (WebM, Ogg or M4A) can be uploaded.",
        field="file",
    )


def _unreadable() -> Unprocessable:
    return Unprocessable(
        "files.unreadable", "The file is damaged or incomplete and cannot be read.", field="file"
    )


def _is_executable_or_markup(head: bytes) -> bool:
    return head.startswith(_EXECUTABLE_MAGIC) or bool(_MARKUP.match(head))


def _sniff(data: bytes) -> str:
    head = data[:1024]
    if _is_executable_or_markup(head):
        raise UnsupportedMediaType(
            "files.executable",
            "Programs, scripts and web pages cannot be uploaded, whatever the file is called.",
            field="file",
        )
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    audio = sniff_audio(head)
    if audio is not None:
        return audio
    raise _unsupported()


def _check_name(filename: str, content_type: str) -> None:
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix and suffix not in EXTENSIONS[content_type]:
        raise Unprocessable(
            "files.not_matching_name",
            "The file is a {kind} but its name ends in {suffix}. Rename it and try again.",
            kind=content_type.split("/")[1].upper(),
            suffix=suffix,
            field="file",
        )


# A phone's photo has 12–50 million pixels; decoded as RGBA and turned upright one picture takes
# up to 8 bytes a pixel, so the cap and the number decoded at once bound the memory uploads use.
MAX_PIXELS = 50_000_000
DECODING_AT_ONCE = 2
_decoding = threading.BoundedSemaphore(DECODING_AT_ONCE)


def _too_many_pixels() -> Unprocessable:
    return Unprocessable(
        "files.too_many_pixels",
        "The picture has too many pixels to be processed safely.",
        field="file",
    )


def _reencode_image(data: bytes, content_type: str) -> bytes:
    """The picture decoded, turned upright and encoded again with nothing but its pixels and
    its colour profile; at most :data:`MAX_PIXELS` and :data:`DECODING_AT_ONCE` pictures at a
    time, so that uploads cannot take the server's memory."""
    with _decoding:
        return _reencoded(data, content_type)


def _reencoded(data: bytes, content_type: str) -> bytes:
    try:
        with Image.open(BytesIO(data)) as image:
            if image.format not in _PIL_FORMATS[content_type]:
                raise _unsupported()
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels()
            image.load()
            icc_profile = image.info.get("icc_profile")
            upright = ImageOps.exif_transpose(image)
        if content_type == PNG and (upright.mode in ("P", "PA") or "transparency" in upright.info):
            upright = upright.convert("RGBA")  # before the info (and its transparency) goes
        elif content_type == JPEG and upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.info = {}  # Pillow writes a comment, XMP … it finds here into the new file
        out = BytesIO()
        options = {"quality": 90} if content_type == JPEG else {}
        upright.save(out, _PIL_FORMATS[content_type][0], icc_profile=icc_profile, **options)
    except AppError:
        raise
    except Image.DecompressionBombError as bomb:
        raise _too_many_pixels() from bomb
    except Exception as damaged:  # any decoder failure means the file cannot be read
        raise _unreadable() from damaged
    return out.getvalue()


def _check_pdf(data: bytes) -> None:
    if not _PDF_HEADER.match(data) or b"%%EOF" not in data[-1024:]:
        raise _unreadable()
    try:
        active = names_active_content(data)
    except PdfTooComplex as bomb:
        raise Unprocessable(
            "files.pdf_too_complex",
            "The PDF holds too much compressed content to be checked safely.",
            field="file",
        ) from bomb
    if active:
        raise UnsupportedMediaType(
            "files.pdf_active_content",
            "PDF files with scripts, actions or embedded files cannot be uploaded.",
            field="file",
        )


def _voice_duration_ms(data: bytes, content_type: str) -> int:
    if len(data) > VOICE_MAX_BYTES:
        raise too_large(VOICE_MAX_BYTES)
    try:
        duration = duration_ms(data, content_type)
    except NotVoice as other:
        raise _unsupported() from other
    except BadAudio as damaged:
        raise _unreadable() from damaged
    if duration > VOICE_MAX_SECONDS * 1000 + _VOICE_SLACK_MS:
        raise Unprocessable(
            "files.voice_too_long",
            "A voice message may be at most {limit} seconds long.",
            limit=VOICE_MAX_SECONDS,
            field="file",
        )
    return min(duration, VOICE_MAX_SECONDS * 1000)


def inspect_upload(data: bytes, *, filename: str, max_bytes: int) -> Inspected:
    """Decide what ``data`` is and return what to keep; refuses empty, oversized, executable,
    unsupported, damaged and misnamed files with their own problem codes."""
    if not data:
        raise Unprocessable("files.empty", "The file is empty.", field="file")
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    content_type = _sniff(data)
    _check_name(filename, content_type)
    if content_type == PDF:
        _check_pdf(data)
        return Inspected(PDF, data)
    if content_type in AUDIO_EXTENSIONS:
        return Inspected(content_type, data, _voice_duration_ms(data, content_type))
    return Inspected(content_type, _reencode_image(data, content_type))


def safe_name(filename: str, content_type: str) -> str:
    """The name to keep and show: its last path part, NFC, without control or path characters,
    at most :data:`MAX_NAME_LENGTH` characters, ending in an extension of its real type."""
    base = PurePosixPath(filename.replace("\\", "/")).name
    base = _UNSAFE_NAME_CHARACTERS.sub("_", unicodedata.normalize("NFC", base))
    suffix = PurePosixPath(base).suffix
    extension = suffix.lower() if suffix.lower() in EXTENSIONS[content_type] else ""
    stem = base[: -len(suffix)] if suffix and extension else base
    extension = extension or EXTENSIONS[content_type][0]
    stem = stem.strip(" .")[: MAX_NAME_LENGTH - len(extension)].strip(" .") or "file"
    return stem + extension
