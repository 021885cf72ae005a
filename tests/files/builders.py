"""Files for the upload tests, made on the spot: a phone photo with GPS, a PNG with text chunks,
a real PDF, and things pretending to be pictures."""

from __future__ import annotations

from io import BytesIO

import httpx
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

SECRET = b"Secret-Location-Note"


def jpeg_with_gps(*, size: tuple[int, int] = (64, 32), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with maker, orientation and GPS, XMP and a comment.
    Orientation 6 means "turn 90° clockwise to show", so the picture shows 32 × 64."""
    image = Image.new("RGB", size, "red")
    image.paste("blue", (0, 0, size[0] // 2, size[1]))  # left half blue: shows the rotation
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {1: "N", 2: (39.0, 54.0, 20.0), 3: "E", 4: (116.0, 23.0, 29.0)}
    )
    out = BytesIO()
    image.save(
        out, "JPEG", exif=exif, comment=SECRET, xmp=b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"
    )
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngInfo()
    info.add_text("Comment", SECRET.decode())
    info.add_text("Author", "Zhang San", zip=True)
    info.add_itxt("Description", "病历 " + SECRET.decode())
    out = BytesIO()
    Image.new("RGBA", (20, 10), (0, 128, 0, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def pdf() -> bytes:
    out = BytesIO()
    Image.new("RGB", (40, 40), "white").save(out, "PDF")
    return out.getvalue()


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
HTML = b"  <!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    data: bytes,
    name: str = "photo.jpg",
    declared_type: str = "image/jpeg",
    patient_id: int | None = None,
) -> httpx.Response:
    fields = {} if patient_id is None else {"patient_id": str(patient_id)}
    return await client.post(
        "/api/files",
        headers=headers,
        files={"file": (name, data, declared_type)},
        data=fields,
    )
