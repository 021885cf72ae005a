"""Field encryption (AES-GCM) and blind indexes (HMAC-SHA256) for personal identifiers.

A stored value is ``v1.<base64(nonce || ciphertext)>``; the column name is bound as associated
data so a ciphertext cannot be moved to another column. The blind index lets us find a record by
an exact identifier without decrypting every row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


def _key(value: str) -> bytes:
    raw = base64.b64decode(value)
    if len(raw) != 32:
        raise ValueError("keys must be 32 bytes, base64-encoded")
    return raw


@dataclass(frozen=True)
class FieldCipher:
    field_key: str
    blind_index_key: str

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(_key(self.field_key)).encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{_VERSION}.{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, purpose: str) -> str:
        version, _, body = stored.partition(".")
        if version != _VERSION:
            raise ValueError("unknown ciphertext version")
        raw = base64.b64decode(body)
        try:
            plain = AESGCM(_key(self.field_key)).decrypt(raw[:12], raw[12:], purpose.encode())
        except InvalidTag as exc:
            raise ValueError("ciphertext does not decrypt with this key") from exc
        return plain.decode()

    def blind_index(self, value: str, *, purpose: str) -> str:
        mac = hmac.new(_key(self.blind_index_key), f"{purpose}:{value}".encode(), hashlib.sha256)
        return mac.hexdigest()


def token_digest(token: str) -> str:
    """Tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)
