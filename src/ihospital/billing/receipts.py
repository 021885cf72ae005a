"""Receipts of paid bills, in the manner of 医疗收费电子票据: a number and a verification code.

The code is an HMAC (keyed with the app's secret key) over the receipt number, the amount paid
and the time of payment, so anyone holding a receipt can have it checked
(:func:`verify_receipt`) and a receipt with a changed amount or date does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.models import Order
from ihospital.core.context import Actor

CODE_LENGTH = 12


@dataclass(frozen=True)
class Receipt:
    number: str
    verification_code: str
    institution_id: int
    title: str
    paid_fen: int
    refunded_fen: int
    insured_fen: int  # what medical insurance pays of the bill as it stands (fund and account)
    paid_at: datetime


def receipt_code(secret_key: str, *, number: str, paid_fen: int, paid_at: datetime) -> str:
    """``ABCD-EFGH-JKLM``: 12 base32 characters of the HMAC, grouped by four."""
    message = f"receipt|{number}|{paid_fen}|{paid_at.isoformat(timespec='seconds')}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    code = base64.b32encode(digest).decode()[:CODE_LENGTH]
    return "-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def receipt_of(order: Order, *, secret_key: str) -> Receipt | None:
    """The receipt of a paid (possibly since refunded) bill; None while it is unpaid."""
    if order.paid_at is None:
        return None
    return Receipt(
        number=order.number,
        verification_code=receipt_code(
            secret_key, number=order.number, paid_fen=order.paid_fen, paid_at=order.paid_at
        ),
        institution_id=order.institution_id,
        title=order.title,
        paid_fen=order.paid_fen,
        refunded_fen=order.refunded_fen,
        insured_fen=order.insured_fen,
        paid_at=order.paid_at,
    )


async def verify_receipt(
    session: AsyncSession, actor: Actor, *, number: str, code: str, secret_key: str
) -> Receipt | None:
    """The receipt if ``number`` and ``code`` belong together, else None (every check is
    audited, as it reveals the amount of a bill)."""
    order = await session.scalar(select(Order).where(Order.number == number.strip()))
    receipt = receipt_of(order, secret_key=secret_key) if order is not None else None
    given = code.strip().upper().replace(" ", "")
    valid = receipt is not None and hmac.compare_digest(receipt.verification_code, given)
    await record(
        session,
        actor,
        action="billing.receipt.verify",
        subject_type="billing_order",
        subject_id=order.id if order is not None else "-",
        patient_id=order.patient_id if order is not None else None,
        details={"number": number[:32], "valid": valid},
    )
    return receipt if valid else None
