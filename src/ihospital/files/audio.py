"""Voice clips (语音消息) as browsers record them, recognised and measured by their container.

Three containers are read, in pure Python, far enough to know what they hold and how long it
plays: WebM with Opus (Chrome, Edge, Firefox), Ogg with Opus (Firefox) and MP4 with AAC or Opus
(Safari, 文件名 ``.m4a``). Each must hold exactly one audio track and nothing else (no video);
the duration is what the media itself reaches (the last block's time in WebM, the last page's
granule position in Ogg, the end of the last fragment or the track's header in MP4), never only
what a header claims, so a clip cannot pass for shorter than it plays. Audio frames are not
decoded: a clip that is well formed around broken frames plays as silence or noise, no more.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

WEBM, OGG, MP4 = "audio/webm", "audio/ogg", "audio/mp4"
AUDIO_EXTENSIONS = {
    WEBM: (".webm", ".weba"),
    OGG: (".ogg", ".opus", ".oga"),
    MP4: (".m4a", ".mp4"),
}
OPUS_RATE = 48_000  # Ogg Opus granule positions count 48 kHz samples whatever the input rate


class BadAudio(ValueError):
    """The container is damaged or incomplete."""


class NotVoice(BadAudio):
    """The container is sound, but holds something other than one Opus or AAC track (a video,
    several streams, another codec)."""


def sniff_audio(head: bytes) -> str | None:
    """The audio container ``head`` starts, if any (by its magic, never by a name)."""
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    if head[4:8] == b"ftyp":
        return MP4
    return None


def duration_ms(data: bytes, content_type: str) -> int:
    """How long the clip plays, in milliseconds; :class:`BadAudio` when it cannot be read."""
    try:
        seconds = {OGG: _ogg_seconds, WEBM: _webm_seconds, MP4: _mp4_seconds}[content_type](data)
    except (struct.error, IndexError, UnicodeDecodeError) as damaged:
        raise BadAudio("truncated") from damaged
    if seconds <= 0:
        raise BadAudio("no sound")
    return round(seconds * 1000)


# --- Ogg (RFC 3533) with Opus (RFC 7845) ---


def _ogg_seconds(data: bytes) -> float:
    position, serial, last_granule, pre_skip = 0, None, 0, None
    while position < len(data):
        if data[position : position + 5] != b"OggS\x00":
            raise BadAudio("not an Ogg page")
        granule, page_serial = struct.unpack_from("<qI", data, position + 6)
        segments = data[position + 26]
        table = data[position + 27 : position + 27 + segments]
        if len(table) != segments:
            raise BadAudio("truncated")
        body = position + 27 + segments
        if serial is None:
            if data[body : body + 8] != b"OpusHead":
                raise NotVoice("not Opus")
            pre_skip = struct.unpack_from("<H", data, body + 10)[0]
            serial = page_serial
        elif page_serial != serial:
            raise NotVoice("more than one stream")
        position = body + sum(table)
        if position > len(data):
            raise BadAudio("truncated")
        if granule >= 0:
            last_granule = max(last_granule, granule)
    assert pre_skip is not None
    return (last_granule - pre_skip) / OPUS_RATE


# --- WebM (Matroska/EBML) ---

_EBML_MASTERS = {
    0x1A45DFA3,  # EBML header
    0x18538067,  # Segment
    0x1549A966,  # Info
    0x1654AE6B,  # Tracks
    0xAE,  # TrackEntry
    0x1F43B675,  # Cluster
    0xA0,  # BlockGroup
}
_UNKNOWN = -1


def _vint(data: bytes, position: int, *, keep_marker: bool) -> tuple[int, int]:
    first = data[position]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise BadAudio("bad EBML number")
    raw = int.from_bytes(data[position : position + length], "big")
    if len(data) < position + length:
        raise BadAudio("truncated")
    if keep_marker:
        return raw, position + length
    value = raw & ((1 << (7 * length)) - 1)
    return (_UNKNOWN if value == (1 << (7 * length)) - 1 else value), position + length


def _ebml_elements(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Every element in document order, masters entered (their size may be unknown, as a live
    recorder writes them), leaves with their payload."""
    position = 0
    while position < len(data):
        element_id, position = _vint(data, position, keep_marker=True)
        size, position = _vint(data, position, keep_marker=False)
        if element_id in _EBML_MASTERS:
            yield element_id, b""
            continue
        if size == _UNKNOWN or position + size > len(data):
            raise BadAudio("truncated element")
        yield element_id, data[position : position + size]
        position += size


def _webm_seconds(data: bytes) -> float:
    doc_type, scale, declared, cluster_time, last_block = None, 1_000_000, 0.0, 0, 0
    tracks: list[list[object]] = []  # [type, codec] per TrackEntry
    for element_id, payload in _ebml_elements(data):
        if element_id == 0x4282:
            doc_type = payload.decode("ascii")
        elif element_id == 0x2AD7B1:
            scale = int.from_bytes(payload, "big")
        elif element_id == 0x4489 and len(payload) in (4, 8):
            declared = struct.unpack(">f" if len(payload) == 4 else ">d", payload)[0]
        elif element_id == 0xAE:
            tracks.append([None, None])
        elif element_id == 0x83 and tracks:
            tracks[-1][0] = int.from_bytes(payload, "big")
        elif element_id == 0x86 and tracks:
            tracks[-1][1] = payload.decode("ascii").rstrip("\x00")
        elif element_id == 0xE7:
            cluster_time = int.from_bytes(payload, "big")
        elif element_id in (0xA3, 0xA1):  # SimpleBlock, Block: track number, then int16 time
            _, offset = _vint(payload, 0, keep_marker=False)
            relative = struct.unpack_from(">h", payload, offset)[0]
            last_block = max(last_block, cluster_time + relative)
    if doc_type != "webm" or tracks != [[2, "A_OPUS"]]:
        raise NotVoice("not a WebM with one Opus track")
    if not 0 < scale <= 10**9:
        raise BadAudio("bad time scale")
    return max(declared, last_block) * scale / 1e9


# --- MP4 (ISO base media file format) ---

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf"}


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of every box in ``data[start:end]``, containers
    entered."""
    position = start
    while position < end:
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise BadAudio("bad box size")
        yield kind, position + header, position + size
        if kind in _MP4_CONTAINERS:
            yield from _boxes(data, position + header, position + size)
        position += size


def _header_duration(data: bytes, start: int) -> tuple[int, int]:
    """(timescale, duration) of an ``mvhd`` or ``mdhd`` box."""
    if data[start] == 1:
        return struct.unpack_from(">IQ", data, start + 20)
    return struct.unpack_from(">II", data, start + 12)


def _fragment_end(data: bytes, start: int, default_duration: int, base: int) -> int:
    """Where a ``trun`` box's samples end, on the track's timeline."""
    flags = int.from_bytes(data[start + 1 : start + 4], "big")
    count = struct.unpack_from(">I", data, start + 4)[0]
    position = start + 8 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
    per_sample = 4 * bin(flags & 0xF00).count("1")
    if not flags & 0x100:
        return base + count * default_duration
    if position + count * per_sample > len(data):
        raise BadAudio("truncated run")
    total = sum(struct.unpack_from(">I", data, position + i * per_sample)[0] for i in range(count))
    return base + total


def _mp4_seconds(data: bytes) -> float:
    movie, track, handlers, entries = (1, 0), (1, 0), [], []
    default_duration, base, fragment_end = 0, 0, 0
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == b"mvhd":
            movie = _header_duration(data, start)
        elif kind == b"mdhd":
            track = _header_duration(data, start)
        elif kind == b"hdlr":
            handlers.append(data[start + 8 : start + 12])
        elif kind == b"stsd":
            entries.extend(_sample_entries(data, start, end))
        elif kind in (b"trex", b"tfhd"):
            flags = int.from_bytes(data[start + 1 : start + 4], "big")
            if kind == b"trex":
                default_duration = struct.unpack_from(">I", data, start + 12)[0]
            elif flags & 0x8:
                offset = start + 8 + (8 if flags & 0x1 else 0) + (4 if flags & 0x2 else 0)
                default_duration = struct.unpack_from(">I", data, offset)[0]
        elif kind == b"tfdt":
            base = struct.unpack_from(">Q" if data[start] == 1 else ">I", data, start + 4)[0]
        elif kind == b"trun":
            fragment_end = max(fragment_end, _fragment_end(data, start, default_duration, base))
            base = fragment_end
    if handlers != [b"soun"] or len(entries) != 1 or entries[0] not in (b"mp4a", b"Opus"):
        raise NotVoice("not an MP4 with one AAC or Opus track")
    if not movie[0] or not track[0]:
        raise BadAudio("bad time scale")
    return max(movie[1] / movie[0], max(track[1], fragment_end) / track[0])


def _sample_entries(data: bytes, start: int, end: int) -> list[bytes]:
    """The formats (``mp4a``, ``Opus`` …) an ``stsd`` box lists."""
    count = struct.unpack_from(">I", data, start + 4)[0]
    position, formats = start + 8, []
    while len(formats) < count and position + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, position)
        formats.append(kind)
        position += max(size, 8)
    return formats
