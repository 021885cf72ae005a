"""The double-entry ledger: every movement of money is one balanced journal entry.

A posting debits (positive fen) or credits (negative fen) an account; the postings of an entry
sum to zero, so the sum over the whole ledger is always zero. Balances are never stored: they
are summed from the postings. Entries are append-only (database triggers); a correction is a new
entry. The accounts:

==================  ===========  =========================================================
kind                reference    meaning
==================  ===========  =========================================================
patient             patient id   what the 就诊人 owes (positive) or is owed (negative)
clearing            channel      money held for us by a payment provider
insurance_fund      region code  receivable from the pooled insurance fund (统筹基金)
insurance_fund      acct:region  receivable from the insured's personal accounts (个人账户)
institution_revenue institution  fees earned: registration, consultation, examinations …
pharmacy_revenue    institution  drugs and their delivery
refunds_payable     channel      refunds owed to payers, not yet paid out by the provider
==================  ===========  =========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.models import ACCOUNT_KINDS, JournalEntry, Posting
from ihospital.core.context import Actor


@dataclass(frozen=True, order=True)
class LedgerAccount:
    kind: str
    ref: str

    def __post_init__(self) -> None:
        if self.kind not in ACCOUNT_KINDS:
            raise ValueError(f"unknown ledger account kind {self.kind!r}")
        if not self.ref or len(self.ref) > 32:
            raise ValueError("a ledger account reference is 1 to 32 characters")


def patient_account(patient_id: int) -> LedgerAccount:
    return LedgerAccount("patient", str(patient_id))


def clearing_account(channel: str) -> LedgerAccount:
    return LedgerAccount("clearing", channel)


def refunds_payable_account(channel: str) -> LedgerAccount:
    return LedgerAccount("refunds_payable", channel)


def insurance_fund_account(region_code: str) -> LedgerAccount:
    return LedgerAccount("insurance_fund", region_code)


def personal_account_fund(region_code: str) -> LedgerAccount:
    """The personal accounts (个人账户) of a pool, paid by its insurance agency."""
    return LedgerAccount("insurance_fund", f"acct:{region_code}")


def revenue_account(line_kind: str, institution_id: int) -> LedgerAccount:
    """Drugs and their delivery are pharmacy revenue; every other fee is the institution's."""
    kind = "pharmacy_revenue" if line_kind in ("drug", "delivery") else "institution_revenue"
    return LedgerAccount(kind, str(institution_id))


class UnbalancedEntry(ValueError):
    """Postings that do not sum to zero, or an empty or zero posting: a programming error."""


async def post(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str,
    postings: Sequence[tuple[LedgerAccount, int]],
    order_id: int | None = None,
    payment_id: int | None = None,
    refund_id: int | None = None,
    memo: str = "",
) -> JournalEntry:
    """Write one journal entry. Postings to the same account are merged; the entry must have
    at least two accounts and sum to zero, else :class:`UnbalancedEntry` (nothing is written)."""
    merged: dict[LedgerAccount, int] = {}
    for account, amount in postings:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise UnbalancedEntry("posting amounts are whole fen")
        merged[account] = merged.get(account, 0) + amount
    merged = {account: amount for account, amount in merged.items() if amount}
    if len(merged) < 2:
        raise UnbalancedEntry("a journal entry moves money between at least two accounts")
    if sum(merged.values()) != 0:
        raise UnbalancedEntry(f"journal entry {kind!r} does not balance: {merged}")
    entry = JournalEntry(
        kind=kind,
        order_id=order_id,
        payment_id=payment_id,
        refund_id=refund_id,
        memo=memo[:256],
        created_at=actor.clock.now(),
    )
    session.add(entry)
    await session.flush()
    session.add_all(
        Posting(
            entry_id=entry.id, account_kind=account.kind, account_ref=account.ref, amount_fen=amount
        )
        for account, amount in sorted(merged.items())
    )
    await session.flush()
    return entry


async def balance(session: AsyncSession, account: LedgerAccount) -> int:
    """The account's balance in fen: the sum of its postings."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0)).where(
            Posting.account_kind == account.kind, Posting.account_ref == account.ref
        )
    )
    return int(total or 0)


async def balances(session: AsyncSession) -> dict[LedgerAccount, int]:
    """Every account with postings and its balance (zero balances included)."""
    rows = await session.execute(
        select(Posting.account_kind, Posting.account_ref, func.sum(Posting.amount_fen)).group_by(
            Posting.account_kind, Posting.account_ref
        )
    )
    return {LedgerAccount(kind, ref): int(total) for kind, ref, total in rows}


async def ledger_total(session: AsyncSession) -> int:
    """The sum of every posting ever written: zero, always."""
    total = await session.scalar(select(func.coalesce(func.sum(Posting.amount_fen), 0)))
    return int(total or 0)


async def entries_of_order(session: AsyncSession, *, order_id: int) -> list[JournalEntry]:
    """The journal entries about one order, oldest first (payments and refunds included)."""
    rows = await session.scalars(
        select(JournalEntry).where(JournalEntry.order_id == order_id).order_by(JournalEntry.id)
    )
    return list(rows.all())
