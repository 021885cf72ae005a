"""Asynchronous payment notifications (支付结果通知) from the providers.

A notification is verified (signature, age) before anything else; one that fails, or names a
trade we never opened, or reports another amount, is refused, logged and audited, and changes
nothing. An accepted one is recorded by its id: the same notification delivered again is
acknowledged without effect, and since :func:`~ihospital.billing.payments.apply_trade` is
idempotent, notifications that overtake each other or a query are harmless too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.models import PaymentNotification
from ihospital.billing.payments import AmountMismatch, apply_trade
from ihospital.billing.providers import Providers, provider_for
from ihospital.billing.providers.base import InvalidNotification
from ihospital.billing.repository import payment_by_trade_no
from ihospital.core.context import Actor
from ihospital.errors import BadRequest

log = logging.getLogger(__name__)

REFUSAL_MESSAGES: dict[str, str] = {
    "unsigned": "The notification is not signed.",
    "bad_signature": "The notification's signature is not valid.",
    "stale": "The notification is too old or from the future; it may be a replay.",
    "malformed": "The notification cannot be read.",
    "unknown_trade": "The notification is about a payment we do not know.",
    "amount_mismatch": "The notification's amount differs from the payment's.",
}


class NotificationRefused(BadRequest):
    """A notification we do not accept; the refusal itself is audited, so the route answers it
    without rolling the audit entry back."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"billing.notification_{reason}", REFUSAL_MESSAGES[reason], reason=reason)


async def receive_notification(
    session: AsyncSession,
    actor: Actor,
    *,
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    providers: Providers,
) -> str:
    """Verify and apply one notification; answers the outcome (``paid``, ``refunded``,
    ``duplicate`` …) or raises :class:`NotificationRefused` after auditing the refusal."""
    provider = provider_for(providers, channel)
    try:
        notification = provider.verify_notification(
            headers=headers, body=body, now=actor.clock.now()
        )
    except InvalidNotification as invalid:
        return await _refuse(session, actor, channel, invalid.reason, out_trade_no="")
    trade = notification.trade
    payment = await payment_by_trade_no(session, trade.out_trade_no)
    if payment is None or payment.channel != channel:
        return await _refuse(session, actor, channel, "unknown_trade", trade.out_trade_no)
    seen = await session.scalar(
        select(PaymentNotification.id).where(
            PaymentNotification.channel == channel,
            PaymentNotification.notification_id == notification.notification_id,
        )
    )
    if seen is not None:
        return "duplicate"
    try:
        outcome = await apply_trade(session, actor, payment_id=payment.id, trade=trade)
    except AmountMismatch:
        return await _refuse(session, actor, channel, "amount_mismatch", trade.out_trade_no)
    try:
        async with session.begin_nested():
            session.add(
                PaymentNotification(
                    channel=channel,
                    notification_id=notification.notification_id,
                    out_trade_no=trade.out_trade_no,
                    outcome=outcome,
                    received_at=actor.clock.now(),
                )
            )
    except IntegrityError:
        return "duplicate"  # the same notification, delivered twice at once: applied once
    return outcome


async def _refuse(
    session: AsyncSession, actor: Actor, channel: str, reason: str, out_trade_no: str
) -> str:
    log.warning(
        "refused a %s payment notification: %s (trade %r, from %s)",
        channel,
        reason,
        out_trade_no,
        actor.ip,
    )
    await record(
        session,
        actor,
        action="billing.notification.refused",
        subject_type="payment_notification",
        subject_id=out_trade_no or "-",
        details={"channel": channel, "reason": reason},
    )
    raise NotificationRefused(reason)
