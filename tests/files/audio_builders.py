"""Voice clips made on the spot, byte by byte, laid out as browsers' recorders write them: Ogg
Opus (Firefox), WebM Opus with live (unknown-size) segment and clusters (Chrome), MP4 AAC plain
or fragmented (Safari). The Opus and AAC frames are silence-sized stand-ins: only the containers
are read."""

from __future__ import annotations

import struct

OPUS_FRAME = b"\xf8\xff\xfe"  # one 20 ms Opus frame (CELT, mono)
PRE_SKIP = 312


def _opus_head() -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, 1, PRE_SKIP, 48_000, 0, 0)


# --- Ogg ---


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], *, granule: int, sequence: int, flags: int, serial: int):
    table = b""
    for packet in packets:
        table += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = b"OggS\x00" + struct.pack("<BqIII", flags, granule, serial, sequence, 0)
    page = header + bytes([len(table)]) + table + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def ogg_opus(*, seconds: float, head: bytes | None = None, second_serial: bool = False) -> bytes:
    """An Ogg Opus clip of ``seconds`` (a page a second, 50 frames each)."""
    pages = [
        _ogg_page([head or _opus_head()], granule=0, sequence=0, flags=2, serial=7),
        _ogg_page(
            [b"OpusTags" + struct.pack("<I", 4) + b"test" + b"\0" * 4],
            granule=0,
            sequence=1,
            flags=0,
            serial=7,
        ),
    ]
    frames, sequence = round(seconds * 50), 2
    while frames > 0:
        batch = min(50, frames)
        frames -= batch
        granule = PRE_SKIP + (round(seconds * 50) - frames) * 960
        serial = 8 if second_serial and sequence == 3 else 7
        pages.append(
            _ogg_page(
                [OPUS_FRAME] * batch,
                granule=granule,
                sequence=sequence,
                flags=4 if frames == 0 else 0,
                serial=serial,
            )
        )
        sequence += 1
    return b"".join(pages)


# --- WebM ---

UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def _element(element_id: int, payload: bytes, *, unknown: bool = False) -> bytes:
    ident = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    size = UNKNOWN_SIZE if unknown else (0x01 << 56 | len(payload)).to_bytes(8, "big")
    return ident + size + payload


def _uint(element_id: int, value: int) -> bytes:
    return _element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def webm_opus(
    *,
    seconds: float,
    declared_seconds: float | None = None,
    codec: str = "A_OPUS",
    track_type: int = 2,
    video_track: bool = False,
) -> bytes:
    """A WebM clip as Chrome's MediaRecorder writes it: no duration in its Info (unless
    ``declared_seconds``), segment and clusters of unknown size, one 20 ms block each 20 ms."""
    info = _uint(0x2AD7B1, 1_000_000) + _element(0x4D80, b"test")
    if declared_seconds is not None:
        info += _element(0x4489, struct.pack(">d", declared_seconds * 1000))
    track = _uint(0xD7, 1) + _uint(0x73C5, 1) + _uint(0x83, track_type)
    track += _element(0x86, codec.encode()) + _element(0x63A2, _opus_head())
    tracks = _element(0xAE, track)
    if video_track:
        tracks += _element(0xAE, _uint(0xD7, 2) + _uint(0x83, 1) + _element(0x86, b"V_VP8"))
    body = _element(0x1549A966, info) + _element(0x1654AE6B, tracks)
    frames = round(seconds * 50)
    for cluster_start in range(0, frames, 500):  # a cluster each 10 s
        blocks = b"".join(
            _element(
                0xA3, b"\x81" + struct.pack(">hB", (frame - cluster_start) * 20, 0x80) + OPUS_FRAME
            )
            for frame in range(cluster_start, min(frames, cluster_start + 500))
        )
        body += _element(0x1F43B675, _uint(0xE7, cluster_start * 20) + blocks, unknown=True)
    header = _element(
        0x1A45DFA3,
        _uint(0x4286, 1)
        + _uint(0x42F7, 1)
        + _uint(0x42F2, 4)
        + _uint(0x42F3, 8)
        + _element(0x4282, b"webm")
        + _uint(0x4287, 4)
        + _uint(0x4285, 2),
    )
    return header + _element(0x18538067, body, unknown=True)


# --- MP4 ---


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full(kind: bytes, payload: bytes, *, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags) + payload)


def mp4_aac(*, seconds: float, fragmented: bool = False, handler: bytes = b"soun") -> bytes:
    """An M4A clip: AAC at 48 kHz (1024 samples a frame); Safari writes it fragmented, with
    no duration in its headers, the fragments telling how long it plays."""
    samples = round(seconds * 48_000 / 1024)
    whole = 0 if fragmented else samples * 1024
    mvhd = _full(b"mvhd", struct.pack(">IIII", 0, 0, 1000, round(whole / 48)) + b"\0" * 80)
    mdhd = _full(b"mdhd", struct.pack(">IIIIHH", 0, 0, 48_000, whole, 0x55C4, 0))
    hdlr = _full(b"hdlr", b"\0" * 4 + handler + b"\0" * 12 + b"SoundHandler\0")
    mp4a = _box(
        b"mp4a",
        b"\0" * 6
        + struct.pack(">H", 1)
        + b"\0" * 8
        + struct.pack(">HHHHI", 1, 16, 0, 0, 48_000 << 16),
    )
    stbl = _box(b"stbl", _full(b"stsd", struct.pack(">I", 1) + mp4a))
    mdia = _box(b"mdia", mdhd + hdlr + _box(b"minf", stbl))
    trak = _box(b"trak", _full(b"tkhd", b"\0" * 80, flags=3) + mdia)
    moov_body = mvhd + trak
    if fragmented:
        moov_body += _box(b"mvex", _full(b"trex", struct.pack(">IIIII", 1, 1, 0, 0, 0)))
    out = _box(b"ftyp", b"M4A \0\0\0\0M4A isommp42") + _box(b"moov", moov_body)
    if not fragmented:
        return out + _box(b"mdat", b"\0" * samples)
    for first in range(0, samples, 47):  # about a second a fragment
        count = min(47, samples - first)
        trun = _full(
            b"trun", struct.pack(">I", count) + struct.pack(">II", 1024, 1) * count, flags=0x300
        )
        traf = _full(b"tfhd", struct.pack(">I", 1), flags=0x20000)
        traf += _full(b"tfdt", struct.pack(">Q", first * 1024), version=1) + trun
        out += _box(b"moof", _full(b"mfhd", struct.pack(">I", first)) + _box(b"traf", traf))
        out += _box(b"mdat", b"\0" * count)
    return out
