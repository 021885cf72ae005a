"""The outpatient settlement engine: how one claim splits between the pooled fund, the personal
account and cash. Pure arithmetic over integer fen; no database, no clock.

The parts carry the names of the national settlement interface (DOMAIN.md, 医保结算):

- ``medfee_sumamt`` the total; it splits into ``fulamt_ownpay_amt`` (全自费: 丙类 drugs and what is
  not covered online) + ``preselfpay_amt`` (乙类 self-pay-first share) + ``inscp_scp_amt`` (within
  policy);
- of the amount within policy, ``act_pay_dedc`` goes against the deductible (起付线) still open
  this year, and the fund pays ``hifp_pay`` = ratio × the rest, capped by what the annual
  ceiling (封顶线) leaves; ``fund_pay_sumamt`` = ``hifp_pay`` (no other fund takes part online);
- the patient's share ``psn_part_amt`` = total − funds is paid from the personal account
  (``acct_pay``, only towards covered items, at most the balance) and in cash (``psn_cash_pay``).

Always: ``fund_pay_sumamt + acct_pay + psn_cash_pay == medfee_sumamt`` per line and in total, and
no part is negative.

Rounding (exact to the fen):

1. a 乙类 line's self-pay-first share is rounded half up, per line (the pool's per-item rule);
2. the totals are computed first: the fund's share is rounded down, so a fraction of a fen is
   the patient's, never the fund's;
3. each total is then apportioned to the lines by the largest-remainder method (each line's
   exact share rounded down, the fen left over going to the lines with the largest remainders,
   earlier lines first on a tie): the deductible in proportion to the lines' amounts within
   policy, the fund's payment to what is left of them, the personal account to the covered
   part of each line's patient share. The lines therefore sum to the totals exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Terms:
    """A pool's terms for one insurance type at one institution tier (from the policy table).

    ``self_pay_first_bp`` names the drug classes the pool covers and the share of each that the
    patient pays first; a class missing from it (丙类) is not covered. Only lines whose kind is
    in ``covered_kinds`` and that belong to an online follow-up visit are covered."""

    deductible_fen: int
    fund_ratio_bp: int
    annual_ceiling_fen: int
    self_pay_first_bp: Mapping[str, int]
    covered_kinds: frozenset[str]


SELF_PAY = Terms(
    deductible_fen=0,
    fund_ratio_bp=0,
    annual_ceiling_fen=0,
    self_pay_first_bp={},
    covered_kinds=frozenset(),
)
"""Terms that cover nothing: the split of a claim the patient agreed to pay entirely."""


@dataclass(frozen=True)
class YearToDate:
    """What a person's coverage has used this calendar year: the deductible already met and
    what the fund has already paid towards the ceiling."""

    deductible_met_fen: int = 0
    fund_paid_fen: int = 0

    def plus(self, parts: Parts) -> YearToDate:
        """After a settlement with these total parts."""
        return YearToDate(
            self.deductible_met_fen + parts.act_pay_dedc, self.fund_paid_fen + parts.hifp_pay
        )

    def minus(self, parts: Parts) -> YearToDate:
        """After the reversal (refund) of a settlement with these total parts."""
        return YearToDate(
            self.deductible_met_fen - parts.act_pay_dedc, self.fund_paid_fen - parts.hifp_pay
        )


@dataclass(frozen=True)
class ClaimLine:
    """One billed item: its amount, its kind (an order line kind), its drug class (``A`` 甲类,
    ``B`` 乙类, ``C`` 丙类; drugs only) and whether it belongs to an online follow-up visit
    (复诊) or that visit's prescription. ``order_line_id`` names the order line it pays for;
    it is carried through, not used in the arithmetic."""

    amount_fen: int
    kind: str
    drug_class: str | None = None
    online_follow_up: bool = True
    order_line_id: int | None = None


@dataclass(frozen=True)
class Parts:
    medfee_sumamt: int
    fulamt_ownpay_amt: int
    preselfpay_amt: int
    inscp_scp_amt: int
    act_pay_dedc: int
    hifp_pay: int
    fund_pay_sumamt: int
    acct_pay: int
    psn_cash_pay: int
    psn_part_amt: int

    def as_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @property
    def copay(self) -> int:
        """个人自付: the patient's share of the items insurance covers (the 乙类 self-pay-first
        share, the deductible and what the fund leaves): ``psn_part_amt`` less 全自费."""
        return self.psn_part_amt - self.fulamt_ownpay_amt


PART_NAMES = tuple(field.name for field in fields(Parts))


@dataclass(frozen=True)
class Split:
    lines: tuple[Parts, ...]
    total: Parts


def is_covered(terms: Terms, line: ClaimLine) -> bool:
    """A line the pool pays towards: a covered kind, of an online follow-up, and for a drug a
    covered class."""
    if not line.online_follow_up or line.kind not in terms.covered_kinds:
        return False
    return line.kind != "drug" or line.drug_class in terms.self_pay_first_bp


def split_claim(
    terms: Terms,
    *,
    year_to_date: YearToDate,
    account_balance_fen: int,
    use_account: bool,
    lines: Sequence[ClaimLine],
) -> Split:
    """Split ``lines`` under ``terms`` for a person with ``year_to_date`` usage (module doc)."""
    if not lines or any(line.amount_fen <= 0 for line in lines):
        raise ValueError("a claim has at least one line and every amount is positive")
    if min(account_balance_fen, year_to_date.deductible_met_fen, year_to_date.fund_paid_fen) < 0:
        raise ValueError("the balance and the year's totals are never negative")
    amounts = [line.amount_fen for line in lines]
    own = [0 if is_covered(terms, line) else line.amount_fen for line in lines]
    first = [
        0 if own[i] else _half_up(line.amount_fen * _self_pay_first_bp(terms, line))
        for i, line in enumerate(lines)
    ]
    within = [amounts[i] - own[i] - first[i] for i in range(len(lines))]

    within_total = sum(within)
    open_deductible = max(0, terms.deductible_fen - year_to_date.deductible_met_fen)
    deductible_total = min(within_total, open_deductible)
    open_ceiling = max(0, terms.annual_ceiling_fen - year_to_date.fund_paid_fen)
    fund_total = min(
        (within_total - deductible_total) * terms.fund_ratio_bp // BASIS_POINTS, open_ceiling
    )

    deductible = _apportion(deductible_total, within)
    fund = _apportion(fund_total, [within[i] - deductible[i] for i in range(len(lines))])
    covered_share = [amounts[i] - fund[i] - own[i] for i in range(len(lines))]
    account_total = min(account_balance_fen, sum(covered_share)) if use_account else 0
    account = _apportion(account_total, covered_share)

    parts = tuple(
        Parts(
            medfee_sumamt=amounts[i],
            fulamt_ownpay_amt=own[i],
            preselfpay_amt=first[i],
            inscp_scp_amt=within[i],
            act_pay_dedc=deductible[i],
            hifp_pay=fund[i],
            fund_pay_sumamt=fund[i],
            acct_pay=account[i],
            psn_cash_pay=amounts[i] - fund[i] - account[i],
            psn_part_amt=amounts[i] - fund[i],
        )
        for i in range(len(lines))
    )
    return Split(lines=parts, total=sum_parts(parts))


def sum_parts(parts: Sequence[Parts]) -> Parts:
    return Parts(**{name: sum(getattr(part, name) for part in parts) for name in PART_NAMES})


def _self_pay_first_bp(terms: Terms, line: ClaimLine) -> int:
    return terms.self_pay_first_bp[line.drug_class] if line.drug_class else 0


def _half_up(scaled: int) -> int:
    """``scaled`` / 10 000 rounded half up (``scaled`` is never negative)."""
    return (scaled + BASIS_POINTS // 2) // BASIS_POINTS


def _apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Largest-remainder apportionment of ``total`` fen by ``weights``.

    With ``0 <= total <= sum(weights)`` no share exceeds its weight: a line gets an extra fen
    only when its exact share has a fraction, i.e. is below its weight."""
    whole = sum(weights)
    if total == 0:
        return [0] * len(weights)
    shares = [total * weight // whole for weight in weights]
    remainders = [total * weight % whole for weight in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares
