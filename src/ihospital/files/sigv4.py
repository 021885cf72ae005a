"""AWS Signature Version 4 for S3-compatible object stores (header-based authorisation).

Only what the object store sends is covered: one request, its headers and the SHA-256 of its
payload. Paths are encoded once (S3 does not double-encode), query keys and values per RFC 3986.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str
    service: str = "s3"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """Names lower-cased and sorted, values trimmed with inner runs of spaces collapsed."""
    normalised = sorted(
        (name.lower().strip(), " ".join(value.split())) for name, value in headers.items()
    )
    lines = "".join(f"{name}:{value}\n" for name, value in normalised)
    return lines, ";".join(name for name, _ in normalised)


def canonical_request(
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    payload_sha256: str,
) -> tuple[str, str]:
    """The canonical request and its signed-header list."""
    encoded_query = "&".join(
        f"{quote(key, safe='-_.~')}={quote(value, safe='-_.~')}" for key, value in sorted(query)
    )
    header_lines, signed_headers = _canonical_headers(headers)
    text = "\n".join(
        [
            method,
            quote(path or "/", safe="/-_.~"),
            encoded_query,
            header_lines,
            signed_headers,
            payload_sha256,
        ]
    )
    return text, signed_headers


def authorization(
    credentials: Credentials,
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str],
    payload_sha256: str,
    amz_date: str,
) -> str:
    """The ``Authorization`` header value for a request whose ``headers`` (all of them signed)
    include ``host`` and ``x-amz-date`` (``amz_date``, as ``20130524T000000Z``)."""
    request, signed_headers = canonical_request(
        method=method, path=path, query=query, headers=headers, payload_sha256=payload_sha256
    )
    day = amz_date[:8]
    scope = f"{day}/{credentials.region}/{credentials.service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + credentials.secret_key).encode(), day)
    for part in (credentials.region, credentials.service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope},"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )
