"""What an upload is decided by its bytes: types, names, executables, metadata, bombs."""

from __future__ import annotations

import warnings
from io import BytesIO

import pytest
from PIL import Image

from ihospital.errors import AppError
from ihospital.files import inspection, pdf_streams
from ihospital.files.inspection import JPEG, PDF, PNG, inspect_upload, safe_name
from tests.files.builders import ELF, HTML, SECRET, jpeg_with_gps, pdf, png_with_text
from tests.files.pdf_builders import pdf_bomb, pdf_with_object_stream

MAX = 10 * 1024 * 1024


def _refusal(data: bytes, name: str) -> tuple[int, str]:
    with pytest.raises(AppError) as refused:
        inspect_upload(data, filename=name, max_bytes=MAX)
    return refused.value.status, refused.value.code


def test_jpeg_loses_exif_gps_xmp_and_comment_and_stays_upright():
    kept = inspect_upload(jpeg_with_gps(), filename="IMG_0001.JPG", max_bytes=MAX)
    assert kept.content_type == JPEG
    assert SECRET not in kept.data and b"PhoneMaker" not in kept.data
    with Image.open(BytesIO(kept.data)) as image:
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "comment"} & set(image.info)
        assert image.size == (32, 64)  # orientation 6 applied: the 64 × 32 picture stands up
        top, bottom = image.getpixel((16, 2)), image.getpixel((16, 61))
    assert top[2] > 200 and bottom[0] > 200  # the blue left half is on top after the turn


def test_png_loses_its_text_chunks():
    kept = inspect_upload(png_with_text(), filename="scan.png", max_bytes=MAX)
    assert kept.content_type == PNG
    assert SECRET not in kept.data
    assert not any(chunk in kept.data for chunk in (b"tEXt", b"zTXt", b"iTXt"))
    with Image.open(BytesIO(kept.data)) as image:
        assert image.text == {}
        assert image.mode == "RGBA" and image.getpixel((3, 3)) == (0, 128, 0, 200)


def test_a_palette_png_keeps_its_transparency():
    image = Image.new("P", (4, 4), 1)
    image.putpalette([255, 255, 255, 200, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 0)
    out = BytesIO()
    image.save(out, "PNG", transparency=0)
    kept = inspect_upload(out.getvalue(), filename="icon.png", max_bytes=MAX)
    with Image.open(BytesIO(kept.data)) as stored:
        assert stored.convert("RGBA").getpixel((0, 0))[3] == 0
        assert stored.convert("RGBA").getpixel((1, 1)) == (200, 0, 0, 255)


def test_pdf_is_kept_as_sent():
    document = pdf()
    kept = inspect_upload(document, filename="report.pdf", max_bytes=MAX)
    assert (kept.content_type, kept.data) == (PDF, document)


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"", "a.jpg", (422, "files.empty")),
        (b"\xff\xd8\xff" + b"\0" * MAX, "a.jpg", (413, "files.too_large")),
        (ELF, "x.png", (415, "files.executable")),
        (b"MZ\x90\x00" + b"\0" * 100, "setup.pdf", (415, "files.executable")),
        (b"\xcf\xfa\xed\xfe" + b"\0" * 100, "a.png", (415, "files.executable")),
        (b"#!/bin/sh\nrm -rf /\n", "a.jpg", (415, "files.executable")),
        (HTML, "a.jpg", (415, "files.executable")),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "a.png",
            (415, "files.executable"),
        ),
        (b"GIF89a" + b"\0" * 50, "a.gif", (415, "files.unsupported_type")),
        (b"just some text", "notes.jpg", (415, "files.unsupported_type")),
        (b"\xff\xd8\xff\xe0 truncated", "a.jpg", (422, "files.unreadable")),
        (b"%PDF-1.7\n1 0 obj<<>>endobj\n", "cut.pdf", (422, "files.unreadable")),
    ],
)
def test_refused_uploads_get_their_own_codes(data, name, expected):
    assert _refusal(data, name) == expected


def test_a_pdf_named_jpg_is_recognised_as_pdf_and_refused_for_its_name():
    assert _refusal(pdf(), "photo.jpg") == (422, "files.not_matching_name")
    assert _refusal(jpeg_with_gps(), "report.pdf") == (422, "files.not_matching_name")
    assert _refusal(png_with_text(), "x.exe") == (422, "files.not_matching_name")


def test_a_pdf_with_javascript_is_refused_even_with_escaped_names():
    script = pdf().replace(b"%%EOF", b"<< /S /J#61vaScript /JS (app.alert(1)) >>\n%%EOF")
    assert _refusal(script, "a.pdf") == (415, "files.pdf_active_content")


def test_a_decompression_bomb_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(inspection, "MAX_PIXELS", 6000)  # 100 × 100 is past it
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # and past Pillow's, not twice
    out = BytesIO()
    Image.new("L", (100, 100)).save(out, "PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert _refusal(out.getvalue(), "a.png") == (422, "files.too_many_pixels")
        big = BytesIO()
        Image.new("L", (1000, 1000)).save(big, "PNG")  # past twice the limit: Pillow's own error
        assert _refusal(big.getvalue(), "a.png") == (422, "files.too_many_pixels")


def test_a_jpeg_with_a_script_appended_keeps_only_the_picture():
    kept = inspect_upload(jpeg_with_gps() + HTML, filename="a.jpg", max_bytes=MAX)
    assert b"<script>" not in kept.data


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("../../etc/passwd.jpg", JPEG, "passwd.jpg"),
        ("C:\\Users\\王\\检查 报告.JPEG", JPEG, "检查 报告.jpeg"),
        ("a.pdf.exe", PDF, "a.pdf.exe.pdf"),
        ('we"ird<>|name.png', PNG, "we_ird___name.png"),
        ("", PDF, "file.pdf"),
        ("x" * 300 + ".png", PNG, "x" * 96 + ".png"),
    ],
)
def test_kept_names_have_no_path_and_the_real_extension(name, content_type, expected):
    assert safe_name(name, content_type) == expected


def test_a_pdf_with_a_clean_object_stream_is_accepted():
    document = pdf_with_object_stream()
    assert inspect_upload(document, filename="scan.pdf", max_bytes=MAX).data == document


@pytest.mark.parametrize(
    "catalog",
    [
        b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
        b"<< /Type /Catalog /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >>",
        b"<< /Type /Catalog /OpenAction << /S /Launch /F (cmd.exe) >> >>",
        b"<< /Type /Catalog /Names << /EmbeddedFiles 5 0 R >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /AA << /O 6 0 R >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /RichMedia 7 0 R >>",
        b"<< /Type /Catalog /AcroForm << /XFA 8 0 R >> >>",
    ],
    ids=["javascript", "escaped-javascript", "launch", "embedded-files", "aa", "richmedia", "xfa"],
)
def test_active_content_inside_a_compressed_object_stream_is_refused(catalog):
    assert _refusal(pdf_with_object_stream(catalog), "a.pdf") == (415, "files.pdf_active_content")


def test_an_object_stream_with_an_escaped_type_is_inflated_too():
    catalog = b"<< /OpenAction << /S /JavaScript /JS (x) >> >>"
    hidden = pdf_with_object_stream(catalog, type_name=b"/Obj#53tm")
    assert b"JavaScript" not in hidden
    assert _refusal(hidden, "a.pdf") == (415, "files.pdf_active_content")


def test_an_object_stream_that_cannot_be_inflated_here_is_refused():
    other_filter = pdf_with_object_stream(filters=b"/Filter [/ASCIIHexDecode /FlateDecode]")
    predictor = pdf_with_object_stream(
        filters=b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >>"
    )
    for document in (other_filter, predictor):
        assert _refusal(document, "a.pdf") == (415, "files.pdf_active_content")


def test_an_uncompressed_object_stream_is_looked_at_as_it_is():
    clean = pdf_with_object_stream(filters=b"", compress=False)
    assert inspect_upload(clean, filename="a.pdf", max_bytes=MAX).data == clean


def test_a_pdf_that_inflates_beyond_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(pdf_streams, "MAX_INFLATED_BYTES", 2 * 1024 * 1024)
    bomb = pdf_bomb(3 * 1024 * 1024)
    assert len(bomb) < 20_000
    assert _refusal(bomb, "bomb.pdf") == (422, "files.pdf_too_complex")
    assert inspect_upload(pdf_bomb(1024 * 1024), filename="a.pdf", max_bytes=MAX)
