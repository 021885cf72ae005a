"""Payment providers by channel. Only the sandbox is built in; WeChat Pay, Alipay and UnionPay
implement :class:`~ihospital.billing.providers.base.PaymentProvider` the same way."""

from __future__ import annotations

from collections.abc import Mapping

from ihospital.billing.providers.base import PaymentProvider
from ihospital.billing.providers.sandbox import SandboxProvider
from ihospital.billing.sandbox_books import PAYMENT_BOOKS_FILE, books_url
from ihospital.config import Settings
from ihospital.core.clock import Clock
from ihospital.errors import NotFound

Providers = Mapping[str, PaymentProvider]


def make_payment_providers(settings: Settings, clock: Clock) -> dict[str, PaymentProvider]:
    """The providers of the configured channels, by channel name."""
    sandbox = SandboxProvider(
        settings.payment_sandbox_key,
        clock,
        database_url=books_url(settings, PAYMENT_BOOKS_FILE),
    )
    return {sandbox.channel: sandbox}


def provider_for(providers: Providers, channel: str) -> PaymentProvider:
    """The provider of ``channel``; an unknown channel is not found."""
    provider = providers.get(channel)
    if provider is None:
        raise NotFound(
            "billing.channel_unknown",
            "There is no payment channel called {channel}.",
            channel=channel[:32],
        )
    return provider
