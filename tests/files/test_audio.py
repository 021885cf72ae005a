"""Voice clips are recognised by their container, measured by what they hold (not what a header
claims), and refused when too long, too large, damaged, misnamed or not one audio track."""

from __future__ import annotations

import pytest

from ihospital.errors import AppError
from ihospital.files.audio import MP4, OGG, WEBM
from ihospital.files.inspection import inspect_upload, safe_name
from tests.files.audio_builders import _opus_head, mp4_aac, ogg_opus, webm_opus
from tests.files.builders import ELF, jpeg_with_gps

MAX = 10 * 1024 * 1024
CLIPS = {
    "ogg": (lambda seconds: ogg_opus(seconds=seconds), "clip.ogg", OGG),
    "webm": (lambda seconds: webm_opus(seconds=seconds), "voice.webm", WEBM),
    "m4a": (lambda seconds: mp4_aac(seconds=seconds), "voice.m4a", MP4),
    "m4a-fragmented": (lambda seconds: mp4_aac(seconds=seconds, fragmented=True), "v.m4a", MP4),
}


def _refusal(data: bytes, name: str) -> tuple[int, str]:
    with pytest.raises(AppError) as refused:
        inspect_upload(data, filename=name, max_bytes=MAX)
    return refused.value.status, refused.value.code


@pytest.mark.parametrize("container", sorted(CLIPS))
def test_a_recorded_clip_is_kept_as_sent_with_its_duration(container):
    build, name, content_type = CLIPS[container]
    data = build(12.5)
    kept = inspect_upload(data, filename=name, max_bytes=MAX)
    assert (kept.content_type, kept.data) == (content_type, data)
    assert kept.duration_ms is not None and abs(kept.duration_ms - 12_500) <= 30


@pytest.mark.parametrize("container", sorted(CLIPS))
def test_a_clip_of_more_than_sixty_seconds_is_refused(container):
    build, name, _ = CLIPS[container]
    kept = inspect_upload(build(60), filename=name, max_bytes=MAX)
    assert kept.duration_ms is not None and 59_970 <= kept.duration_ms <= 60_000
    assert _refusal(build(62), name) == (422, "files.voice_too_long")


def test_a_short_declared_duration_does_not_hide_a_long_clip():
    assert _refusal(webm_opus(seconds=90, declared_seconds=5), "a.webm") == (
        422,
        "files.voice_too_long",
    )


@pytest.mark.parametrize("container", sorted(CLIPS))
def test_a_truncated_clip_is_unreadable(container):
    build, name, _ = CLIPS[container]
    data = build(3)
    assert _refusal(data[:-5], name) == (422, "files.unreadable")


@pytest.mark.parametrize(
    "data",
    [
        webm_opus(seconds=2, codec="A_VORBIS"),
        webm_opus(seconds=2, track_type=1, codec="V_VP8"),
        webm_opus(seconds=2, video_track=True),
        ogg_opus(seconds=2, head=b"\x01vorbis" + _opus_head()[7:]),
        ogg_opus(seconds=3, second_serial=True),
        mp4_aac(seconds=2, handler=b"vide"),
    ],
    ids=[
        "webm-vorbis",
        "webm-video",
        "webm-audio-and-video",
        "ogg-vorbis",
        "ogg-two-streams",
        "mp4-video",
    ],
)
def test_a_container_holding_anything_but_one_voice_track_is_refused(data):
    assert _refusal(data, "clip")[1] == "files.unsupported_type"


def test_names_must_match_the_content():
    assert _refusal(jpeg_with_gps(), "voice.webm") == (422, "files.not_matching_name")
    assert _refusal(ogg_opus(seconds=1), "voice.webm") == (422, "files.not_matching_name")
    assert _refusal(ELF, "voice.webm") == (415, "files.executable")
    assert _refusal(b"ID3\x04\x00" + b"\x00" * 200, "song.mp3") == (415, "files.unsupported_type")
    kept = inspect_upload(webm_opus(seconds=1), filename="", max_bytes=MAX)
    assert safe_name("", kept.content_type) == "file.webm"
    assert safe_name("录音.M4A", MP4) == "录音.m4a"


def test_a_clip_larger_than_two_megabytes_is_refused():
    padded = mp4_aac(seconds=2) + b"\0\0\0\x08free" * (300 * 1024)
    assert _refusal(padded, "v.m4a") == (413, "files.too_large")


def test_bytes_after_the_last_page_or_box_are_refused():
    assert _refusal(ogg_opus(seconds=1) + b"<script>", "a.ogg") == (422, "files.unreadable")
    assert _refusal(mp4_aac(seconds=1) + b"junk", "a.m4a") == (422, "files.unreadable")
