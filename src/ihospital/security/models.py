"""Tables of security: practitioners' signing keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin


class SigningKey(IdMixin, Base):
    """A practitioner's Ed25519 key pair: the public key in the clear (base64 of its 32 raw
    bytes), the private key encrypted with the field key (AES-GCM, bound to the practitioner).
    One per practitioner, made on their first signature."""

    __tablename__ = "signing_keys"

    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
