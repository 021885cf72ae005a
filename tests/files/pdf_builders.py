"""PDF files built by hand for the content checks: objects kept in a compressed object stream
(``/Type /ObjStm``, as PDF 1.5 and later write them), clean or with active content."""

from __future__ import annotations

import zlib

CLEAN_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def _object_stream(objects: bytes, *, filters: bytes, compress: bool = True) -> bytes:
    body = zlib.compress(objects) if compress else objects
    dictionary = b"<< /Type /ObjStm /N 1 /First 4 /Length %d %s >>" % (len(body), filters)
    return b"3 0 obj\n" + dictionary + b"\nstream\n" + body + b"\nendstream\nendobj\n"


def pdf_with_object_stream(
    catalog: bytes = CLEAN_CATALOG,
    *,
    filters: bytes = b"/Filter /FlateDecode",
    compress: bool = True,
    type_name: bytes = b"/ObjStm",
) -> bytes:
    """A one-page PDF whose catalog sits in a Flate-compressed object stream."""
    stream = _object_stream(b"1 0 " + catalog, filters=filters, compress=compress)
    stream = stream.replace(b"/ObjStm", type_name)
    return (
        b"%PDF-1.7\n"
        b"2 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n"
        b"4 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>\nendobj\n"
        + stream
        + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def pdf_bomb(inflated_bytes: int) -> bytes:
    """An object stream that inflates to ``inflated_bytes`` of spaces."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    body = b"".join(compressor.compress(chunk) for _ in range(inflated_bytes // len(chunk)))
    body += compressor.flush()
    dictionary = b"<< /Type /ObjStm /Filter /FlateDecode /Length %d >>" % len(body)
    return (
        b"%PDF-1.7\n3 0 obj\n"
        + dictionary
        + b"\nstream\n"
        + body
        + b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n"
    )
