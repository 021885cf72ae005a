"""Expiry of unpaid orders: the hold timer written by ``create_order`` fires here.

Before expiring, each payment still open is queried: a payer who paid in time but whose
notification is late keeps the order. Then the order expires, its open trades are closed, and
``billing.order_expired`` releases what it held. A provider that does not answer does not keep
the order alive: a payment it took anyway is refunded when it is reported.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.insurance.platform import InsurancePlatform
from ihospital.billing.orders import finish_order, give_back_settlement
from ihospital.billing.payments import apply_trade
from ihospital.billing.providers import Providers, provider_for
from ihospital.billing.providers.base import ProviderError, TradeResult
from ihospital.billing.repository import lock_order, order_payments
from ihospital.core.context import Actor
from ihospital.security.crypto import FieldCipher

log = logging.getLogger(__name__)


async def expire_when_due(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    providers: Providers,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> str:
    """Expire a pending order whose hold has passed, reversing its insurance settlement;
    answers its status afterwards."""
    order = await lock_order(session, order_id)
    if order.status != "pending" or actor.clock.now() < order.expires_at:
        return order.status
    open_payments = [p for p in await order_payments(session, order.id) if p.status == "created"]
    for payment in open_payments:
        provider = provider_for(providers, payment.channel)
        try:
            trade = await provider.query(out_trade_no=payment.out_trade_no)
            if trade.state == "NOTPAY":
                await provider.close(out_trade_no=payment.out_trade_no)
                trade = TradeResult(payment.out_trade_no, "CLOSED")
        except ProviderError as error:
            log.warning("could not settle payment %s before expiry: %s", payment.id, error)
            continue
        await apply_trade(session, actor, payment_id=payment.id, trade=trade)
    if order.status == "pending":
        await give_back_settlement(session, actor, order, platform=platform, cipher=cipher)
        await finish_order(session, actor, order, status="expired")
    return order.status
