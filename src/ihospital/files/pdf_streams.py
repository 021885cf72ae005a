"""Whether a PDF names active content: scripts (``/JavaScript``, ``/JS``), actions that run on
their own (``/Launch``, additional actions ``/AA``), embedded files, rich media or XFA forms.

Names are looked for with their ``#xx`` escapes undone (``/J#61vaScript`` is ``/JavaScript``),
in the file's bytes and in its object streams (``/Type /ObjStm``, where PDF 1.5 and later keep
objects compressed). Object streams are inflated with zlib up to :data:`MAX_INFLATED_BYTES` in
all, so a small file cannot expand into a large one (a decompression bomb): beyond it the file is
refused as too complex. An object stream with any other filter, or with a predictor, cannot be
checked and counts as active content. Other streams (page contents, pictures) hold no objects and
are not inflated.
"""

from __future__ import annotations

import re
import zlib

MAX_INFLATED_BYTES = 16 * 1024 * 1024

_ACTIVE = re.compile(
    rb"/(?:JavaScript|JS|Launch|AA|EmbeddedFiles?|RichMedia|XFA)(?![^\s/<>\[\]()%{}])"
)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"\bstream\r?\n")
_OBJECT_START = re.compile(rb"\d+\s+\d+\s+obj\b")
_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm(?![^\s/<>\[\]()%{}])")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/<>\[\]()%{}]+)")
_PREDICTOR = re.compile(rb"/Predictor\s*(\d+)")


class PdfTooComplex(Exception):
    """The object streams inflate to more than :data:`MAX_INFLATED_BYTES`."""


def _unescaped(data: bytes) -> bytes:
    return _NAME_ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), data)


def _inflate(data: memoryview, budget: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, budget + 1)
    except zlib.error:
        return b""  # not a zlib stream after all: nothing a reader could find in it either
    if len(inflated) > budget:
        raise PdfTooComplex
    return inflated


def _object_streams(data: bytes) -> list[tuple[bytes, int]]:
    """Each object stream's dictionary (escapes undone) and where its data starts."""
    found = []
    for stream in _STREAM.finditer(data):
        header_start = max(0, stream.start() - 4096)
        starts = list(_OBJECT_START.finditer(data, header_start, stream.start()))
        header = data[starts[-1].end() if starts else header_start : stream.start()]
        header = _unescaped(header)
        if _OBJECT_STREAM.search(header):
            found.append((header, stream.end()))
    return found


def names_active_content(data: bytes) -> bool:
    """Whether the PDF ``data`` names active content, in its bytes or its object streams."""
    if _ACTIVE.search(_unescaped(data)):
        return True
    budget, view = MAX_INFLATED_BYTES, memoryview(data)
    for header, start in _object_streams(data):
        filters = _FILTER.search(header)
        names = filters.group(1).split() if filters else []
        names = [name.strip(b"[]") for name in names if name.strip(b"[]")]
        if not names:
            continue  # not compressed: its bytes were looked at with the rest
        if names != [b"/FlateDecode"]:
            return True  # not inflatable here, so not checkable: refused with active content
        predictor = _PREDICTOR.search(header)
        if predictor and int(predictor.group(1)) > 1:
            return True
        inflated = _inflate(view[start:], budget)
        budget -= len(inflated)
        if _ACTIVE.search(_unescaped(inflated)):
            return True
    return False
