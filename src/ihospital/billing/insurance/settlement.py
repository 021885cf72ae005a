"""Settling an order with medical insurance, and reversing the settlement when it is refunded.

``settle_claim`` splits the claim with the engine under the pool's terms (policy table), holds
the amounts at once in the same transaction (the year's totals of the coverage grow by the
deductible met and the fund's payment; the personal account is debited), then submits the
settlement to the insurance platform:

- confirmed: ``settled``;
- refused: ``rejected``, the holds given back;
- no answer in time: ``pending`` with the holds kept, because the platform may have settled.
  A durable timer (:func:`complete_pending`) asks the platform (``query``) and completes it,
  as does calling ``settle_claim`` again for the order; the settlement number makes the
  submission idempotent.

An order has at most one live settlement; calling again returns it (idempotent per order).
``reverse_settlement`` cancels it at the platform and gives everything back: the year's totals
of the settlement's year are restored and the personal account re-credited. A partial refund
reverses the settlement; the remaining lines are settled again.

Refused before anything changes: a 丙类 drug (self-paid, never claimed), a first visit or
health consultation (only online follow-up visits are covered, R01), a coverage not valid
today, and a coverage whose pool has no entry in the policy table, unless the patient agreed to
pay everything (``self_pay_agreed``: recorded as ``self_pay``, nothing sent to the platform).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.insurance.claims import check_claim_lines
from ihospital.billing.insurance.coverage import INSURANCE_NUMBER_PURPOSE, active_coverage
from ihospital.billing.insurance.engine import (
    PART_NAMES,
    SELF_PAY,
    ClaimLine,
    Parts,
    Split,
    YearToDate,
    split_claim,
)
from ihospital.billing.insurance.models import (
    LIVE_STATUSES,
    Coverage,
    Settlement,
    SettlementLine,
    YearTotal,
)
from ihospital.billing.insurance.platform import (
    InsurancePlatform,
    PlatformRejected,
    PlatformTimeout,
    SettlementRequest,
)
from ihospital.billing.insurance.policy import (
    PolicyTable,
    RegionPolicy,
    load_policy_table,
    tier_of,
)
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.directory.access import SYSTEM_ROLE, get_institution_row
from ihospital.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from ihospital.identity.patients import get_patient
from ihospital.outbox.service import emit
from ihospital.security.crypto import FieldCipher
from ihospital.security.permissions import may_manage_institution

COMPLETE_TOPIC = "insurance.settlement_complete"
# A platform that did not answer is asked again after this, then with the outbox's backoff.
COMPLETE_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class SettlementView:
    settlement: Settlement
    lines: list[SettlementLine]


async def settle_claim(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    patient_id: int,
    institution_id: int,
    lines: Sequence[ClaimLine],
    use_personal_account: bool,
    platform: InsurancePlatform,
    cipher: FieldCipher,
    self_pay_agreed: bool = False,
    policies: PolicyTable | None = None,
) -> Settlement:
    """Settle order ``order_id`` of one of the actor's 就诊人 at ``institution_id`` with the
    就诊人's coverage (module doc); online, only follow-up visits are covered (R01)."""
    check_claim_lines(lines)
    patient = await get_patient(session, actor, patient_id=patient_id)
    if not patient.is_active:
        raise Conflict("insurance.patient_inactive", "This patient has been removed.")
    coverage = await active_coverage(session, patient_id=patient.id, for_update=True)
    live = await live_settlement(session, order_id)
    if live is not None:
        if live.patient_id != patient.id:
            raise Conflict(
                "insurance.order_settled_for_other",
                "Order {order_id} is already settled for another patient.",
                order_id=order_id,
            )
        if live.status == "pending":
            await _resolve(session, actor, live, coverage, platform, cipher)
        await _audit(session, actor, "insurance.settle", live)
        return live
    quote = await _quote(
        session,
        actor,
        coverage,
        institution_id,
        lines,
        use_personal_account,
        self_pay_agreed,
        policies,
    )
    return await _record(
        session, actor, order_id, coverage, quote, lines, use_personal_account, platform, cipher
    )


@dataclass(frozen=True)
class Quote:
    """How a claim would split today: the pool's policy entry (none: self-pay agreed), the
    institution's tier and the split."""

    entry: RegionPolicy | None
    institution_id: int
    tier: str
    split: Split


async def preview_claim(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    institution_id: int,
    lines: Sequence[ClaimLine],
    use_personal_account: bool,
    self_pay_agreed: bool = False,
    policies: PolicyTable | None = None,
) -> Quote:
    """How a claim of one of the actor's 就诊人 would be settled now, changing nothing: the same
    checks and refusals as :func:`settle_claim`."""
    check_claim_lines(lines)
    patient = await get_patient(session, actor, patient_id=patient_id)
    coverage = await active_coverage(session, patient_id=patient.id)
    quote = await _quote(
        session,
        actor,
        coverage,
        institution_id,
        lines,
        use_personal_account,
        self_pay_agreed,
        policies,
    )
    await record(
        session,
        actor,
        action="insurance.preview",
        subject_type="coverage",
        subject_id=coverage.id,
        patient_id=patient.id,
        details=quote.split.total.as_dict(),
    )
    return quote


async def resettle_claim(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    lines: Sequence[ClaimLine],
    platform: InsurancePlatform,
    cipher: FieldCipher,
    policies: PolicyTable | None = None,
) -> tuple[Settlement, Settlement | None]:
    """After a partial refund: reverse the order's live settlement and settle what is left of
    it (``lines``; none when everything was refunded) under the same coverage, with the same
    choice of the personal account. Answers the reversed settlement and the new one. For the
    system and the institution's staff, like :func:`reverse_settlement`."""
    old = await reverse_settlement(
        session, actor, order_id=order_id, platform=platform, cipher=cipher
    )
    if not lines:
        return old, None
    check_claim_lines(lines)
    coverage = await _coverage_of(session, old)
    quote = await _quote(
        session,
        actor,
        coverage,
        old.institution_id,
        lines,
        old.use_account,
        old.policy_region_code is None,
        policies,
        valid_on=old.created_at,
    )
    new = await _record(
        session,
        actor,
        order_id,
        coverage,
        quote,
        lines,
        old.use_account,
        platform,
        cipher,
        account_id=old.account_id,
    )
    return old, new


async def _quote(
    session: AsyncSession,
    actor: Actor,
    coverage: Coverage,
    institution_id: int,
    lines: Sequence[ClaimLine],
    use_personal_account: bool,
    self_pay_agreed: bool,
    policies: PolicyTable | None,
    *,
    valid_on: datetime | None = None,
) -> Quote:
    """Split a claim under the coverage's pool with its year's totals (nothing changes);
    ``valid_on`` checks the coverage's validity at another time than now (a re-settlement)."""
    today = actor.clock.today_local()
    checked = to_local(valid_on).date() if valid_on else today
    if checked < coverage.valid_from or (coverage.valid_to and checked > coverage.valid_to):
        raise Conflict(
            "insurance.coverage_not_valid",
            "The patient's coverage is not valid today ({today}).",
            today=checked.isoformat(),
        )
    institution = await get_institution_row(session, institution_id)
    tier = tier_of(institution.level)
    entry = (policies or load_policy_table()).find(coverage.region_code)
    if entry is None and not self_pay_agreed:
        raise Unprocessable(
            "insurance.region_without_policy",
            "The policy table has no entry for the insured region {region_code}, so this claim "
            "cannot be settled with medical insurance. It can be paid as self-pay if the "
            "patient agrees.",
            region_code=coverage.region_code,
        )
    totals = await session.scalar(
        select(YearTotal).where(YearTotal.coverage_id == coverage.id, YearTotal.year == today.year)
    )
    split = split_claim(
        entry.terms(coverage.insurance_type, tier) if entry else SELF_PAY,
        year_to_date=YearToDate(totals.deductible_met_fen, totals.fund_paid_fen)
        if totals
        else YearToDate(),
        account_balance_fen=coverage.account_balance_fen,
        use_account=use_personal_account,
        lines=lines,
    )
    return Quote(entry, institution.id, tier, split)


async def _record(
    session: AsyncSession,
    actor: Actor,
    order_id: int,
    coverage: Coverage,
    quote: Quote,
    lines: Sequence[ClaimLine],
    use_personal_account: bool,
    platform: InsurancePlatform,
    cipher: FieldCipher,
    *,
    account_id: int | None = None,
) -> Settlement:
    """Record a quoted settlement, hold its amounts and submit it (module doc)."""
    entry, split, today = quote.entry, quote.split, actor.clock.today_local()
    settlement = Settlement(
        settlement_no=f"YB{today:%Y%m%d}{secrets.token_hex(6).upper()}",
        order_id=order_id,
        coverage_id=coverage.id,
        patient_id=coverage.patient_id,
        account_id=account_id or actor.account_id,
        institution_id=quote.institution_id,
        policy_region_code=entry.region_code if entry else None,
        insurance_type=coverage.insurance_type,
        tier=quote.tier,
        year=today.year,
        status="pending" if entry else "self_pay",
        use_account=use_personal_account,
        created_at=actor.clock.now(),
        **split.total.as_dict(),
    )
    try:
        async with session.begin_nested():
            session.add(settlement)
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "insurance.order_being_settled",
            "Order {order_id} is being settled by another request. Try again in a moment.",
            order_id=order_id,
        ) from None
    session.add_all(
        SettlementLine(
            settlement_id=settlement.id,
            position=position,
            order_line_id=line.order_line_id,
            kind=line.kind,
            drug_class=line.drug_class,
            online_follow_up=line.online_follow_up,
            **parts.as_dict(),
        )
        for position, (line, parts) in enumerate(zip(lines, split.lines, strict=True), start=1)
    )
    await session.flush()
    if entry is not None:
        await _apply(session, actor, settlement, coverage, sign=1)
        await _submit(session, actor, settlement, coverage, platform, cipher)
    if settlement.status == "pending":
        await emit(
            session,
            actor,
            topic=COMPLETE_TOPIC,
            payload={"settlement_id": settlement.id},
            available_at=actor.clock.now() + COMPLETE_AFTER,
            dedupe_key=f"{COMPLETE_TOPIC}:{settlement.id}",
        )
    await _audit(session, actor, "insurance.settle", settlement)
    return settlement


async def reverse_settlement(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> Settlement:
    """Reverse the live settlement of a refunded or expired order (:func:`give_back`). For the
    system (refund and expiry jobs) and the staff who manage the institution."""
    settlement = await live_settlement(session, order_id)
    if settlement is None:
        raise NotFound(
            "insurance.settlement_not_found",
            "Order {order_id} has no insurance settlement to reverse.",
            order_id=order_id,
        )
    if actor.role != SYSTEM_ROLE and not may_manage_institution(
        actor.role, actor.institution_id, settlement.institution_id
    ):
        raise Forbidden(
            "insurance.reverse_forbidden",
            "Only the institution's staff can reverse an insurance settlement.",
        )
    return await give_back(session, actor, settlement, platform=platform, cipher=cipher)


async def give_back(
    session: AsyncSession,
    actor: Actor,
    settlement: Settlement,
    *,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> Settlement:
    """Reverse a live (locked) settlement: the platform cancels it, the year's totals are
    restored and the personal account re-credited. A pending one is completed first; a platform
    that does not answer raises 503 with nothing changed (the reversal is idempotent, so the
    caller tries again). The caller has checked the actor may give the order up."""
    coverage = await _coverage_of(session, settlement)
    if settlement.status == "pending":
        await _resolve(session, actor, settlement, coverage, platform, cipher)
    if settlement.status == "pending":
        raise _platform_unavailable()
    if settlement.status == "settled":
        try:
            await platform.reverse(settlement_no=settlement.settlement_no)
        except PlatformTimeout:
            raise _platform_unavailable() from None
        except PlatformRejected as refusal:
            raise Conflict("insurance.platform_rejected", refusal.reason) from None
        await _apply(session, actor, settlement, coverage, sign=-1)
    if settlement.status in ("settled", "self_pay"):
        settlement.status = "reversed"
        settlement.reversed_at = actor.clock.now()
        await session.flush()
    await _audit(session, actor, "insurance.reverse", settlement)
    return settlement


async def complete_pending(
    session: AsyncSession,
    actor: Actor,
    *,
    settlement_id: int,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> str:
    """Complete a settlement the platform did not answer in time (outbox handler, scheduled by
    :func:`_record`): ask the platform and submit again if it never got it. Still no answer
    raises 503, so the outbox asks again later. Answers the settlement's status."""
    settlement = await session.scalar(
        select(Settlement).where(Settlement.id == settlement_id).with_for_update()
    )
    if settlement is None or settlement.status != "pending":
        return settlement.status if settlement else "unknown"
    coverage = await _coverage_of(session, settlement)
    await _resolve(session, actor, settlement, coverage, platform, cipher)
    if settlement.status == "pending":
        raise _platform_unavailable()
    await _audit(session, actor, "insurance.complete", settlement)
    return settlement.status


async def get_settlement(session: AsyncSession, actor: Actor, *, order_id: int) -> SettlementView:
    """The order's live settlement, else its latest one, with its lines: for the account that
    settled it, the institution's staff and the system (the read is audited)."""
    settlement = await session.scalar(
        select(Settlement)
        .where(Settlement.order_id == order_id)
        .order_by(Settlement.status.in_(LIVE_STATUSES).desc(), Settlement.id.desc())
        .limit(1)
    )
    if settlement is None or not (
        actor.role == SYSTEM_ROLE
        or (actor.account_id is not None and actor.account_id == settlement.account_id)
        or may_manage_institution(actor.role, actor.institution_id, settlement.institution_id)
    ):
        raise NotFound(
            "insurance.order_not_settled",
            "Order {order_id} has no insurance settlement.",
            order_id=order_id,
        )
    await _audit(session, actor, "insurance.read", settlement)
    return SettlementView(settlement, await settlement_lines(session, settlement))


def parts_of(row: Settlement | SettlementLine) -> Parts:
    return Parts(**{name: getattr(row, name) for name in PART_NAMES})


async def _coverage_of(session: AsyncSession, settlement: Settlement) -> Coverage:
    """The settlement's coverage, locked (it may have ended since)."""
    query = select(Coverage).where(Coverage.id == settlement.coverage_id).with_for_update()
    return (await session.scalars(query)).one()


async def live_settlement(session: AsyncSession, order_id: int) -> Settlement | None:
    """The order's pending, settled or self-paid settlement, locked (not audited here)."""
    return await session.scalar(
        select(Settlement)
        .where(Settlement.order_id == order_id, Settlement.status.in_(LIVE_STATUSES))
        .with_for_update()
    )


async def settlement_lines(session: AsyncSession, settlement: Settlement) -> list[SettlementLine]:
    """A settlement's lines in their order (not audited here)."""
    rows = await session.scalars(
        select(SettlementLine)
        .where(SettlementLine.settlement_id == settlement.id)
        .order_by(SettlementLine.position)
    )
    return list(rows.all())


async def _year_total(
    session: AsyncSession, actor: Actor, coverage_id: int, year: int
) -> YearTotal:
    """The coverage's totals of ``year``, created at zero; callers hold the coverage's lock, so
    two requests never create the same row."""
    totals = await session.scalar(
        select(YearTotal).where(YearTotal.coverage_id == coverage_id, YearTotal.year == year)
    )
    if totals is None:
        totals = YearTotal(
            coverage_id=coverage_id,
            year=year,
            deductible_met_fen=0,
            fund_paid_fen=0,
            updated_at=actor.clock.now(),
        )
        session.add(totals)
        await session.flush()
    return totals


async def _apply(
    session: AsyncSession, actor: Actor, settlement: Settlement, coverage: Coverage, *, sign: int
) -> None:
    """Hold (``sign`` 1) or give back (``sign`` -1) a settlement's amounts: the year's totals
    and the personal account."""
    totals = await _year_total(session, actor, coverage.id, settlement.year)
    parts = parts_of(settlement)
    before = YearToDate(totals.deductible_met_fen, totals.fund_paid_fen)
    after = before.plus(parts) if sign > 0 else before.minus(parts)
    totals.deductible_met_fen = after.deductible_met_fen
    totals.fund_paid_fen = after.fund_paid_fen
    totals.updated_at = actor.clock.now()
    coverage.account_balance_fen -= sign * parts.acct_pay
    coverage.updated_at = actor.clock.now()
    await session.flush()


async def _submit(
    session: AsyncSession,
    actor: Actor,
    settlement: Settlement,
    coverage: Coverage,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> None:
    request = SettlementRequest(
        settlement_no=settlement.settlement_no,
        insurance_number=cipher.decrypt(
            coverage.insurance_number_cipher, purpose=INSURANCE_NUMBER_PURPOSE
        ),
        insurance_type=settlement.insurance_type,
        region_code=coverage.region_code,
        institution_id=settlement.institution_id,
        total=parts_of(settlement),
        lines=tuple(parts_of(line) for line in await settlement_lines(session, settlement)),
    )
    try:
        answer = await platform.settle(request)
    except PlatformTimeout:
        return
    except PlatformRejected as refusal:
        await _apply(session, actor, settlement, coverage, sign=-1)
        settlement.status = "rejected"
        settlement.rejection_reason = refusal.reason
        await session.flush()
        return
    _mark_settled(actor, settlement, answer.reference)
    await session.flush()


async def _resolve(
    session: AsyncSession,
    actor: Actor,
    settlement: Settlement,
    coverage: Coverage,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> None:
    """Complete a pending settlement: ask the platform, and submit again if it never got it."""
    try:
        found = await platform.query(settlement_no=settlement.settlement_no)
    except PlatformTimeout:
        return
    if found is None:
        await _submit(session, actor, settlement, coverage, platform, cipher)
    else:
        _mark_settled(actor, settlement, found.reference)
        await session.flush()


def _mark_settled(actor: Actor, settlement: Settlement, reference: str) -> None:
    settlement.status = "settled"
    settlement.platform_reference = reference
    settlement.settled_at = actor.clock.now()


def _platform_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "insurance.platform_unavailable",
        "The insurance platform did not answer in time. Try again in a moment.",
    )


async def _audit(session: AsyncSession, actor: Actor, action: str, settlement: Settlement) -> None:
    await record(
        session,
        actor,
        action=action,
        subject_type="insurance_settlement",
        subject_id=settlement.id,
        patient_id=settlement.patient_id,
        details={
            "order_id": settlement.order_id,
            "settlement_no": settlement.settlement_no,
            "status": settlement.status,
            **parts_of(settlement).as_dict(),
        },
    )
