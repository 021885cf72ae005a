"""Properties of the settlement engine that hold for any terms, person and claim (hypothesis).

- every line's parts sum exactly to its amount, to the fen, and no part is negative;
- the totals are the sums of the lines;
- the deductible applied never exceeds what is open, the fund never exceeds what the ceiling
  leaves, the account never pays more than its balance;
- across any sequence of settlements and refunds the year's deductible met stays within the
  deductible, the fund's payments within the ceiling, the balance never negative, and refunding
  everything restores the starting position.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ihospital.billing.insurance.engine import (
    PART_NAMES,
    ClaimLine,
    Terms,
    YearToDate,
    split_claim,
    sum_parts,
)
from ihospital.billing.models import LINE_KINDS

terms_strategy = st.builds(
    Terms,
    deductible_fen=st.integers(0, 500_000),
    fund_ratio_bp=st.integers(0, 10_000),
    annual_ceiling_fen=st.integers(0, 3_000_000),
    self_pay_first_bp=st.fixed_dictionaries(
        {"A": st.just(0), "B": st.integers(0, 10_000)}, optional={"C": st.integers(0, 10_000)}
    ),
    covered_kinds=st.frozensets(st.sampled_from(LINE_KINDS)),
)


@st.composite
def claim_lines(draw: st.DrawFn) -> ClaimLine:
    kind = draw(st.sampled_from(LINE_KINDS))
    return ClaimLine(
        amount_fen=draw(st.integers(1, 5_000_000)),
        kind=kind,
        drug_class=draw(st.sampled_from("ABC")) if kind == "drug" else None,
        online_follow_up=draw(st.booleans()),
    )


lines_strategy = st.lists(claim_lines(), min_size=1, max_size=12)


@given(
    terms=terms_strategy,
    deductible_met=st.integers(0, 600_000),
    fund_paid=st.integers(0, 3_500_000),
    balance=st.integers(0, 2_000_000),
    use_account=st.booleans(),
    lines=lines_strategy,
)
def test_parts_sum_to_every_line_and_to_the_total_and_none_is_negative(
    terms, deductible_met, fund_paid, balance, use_account, lines
):
    ytd = YearToDate(deductible_met, fund_paid)
    split = split_claim(
        terms, year_to_date=ytd, account_balance_fen=balance, use_account=use_account, lines=lines
    )
    for line, parts in zip(lines, split.lines, strict=True):
        assert all(getattr(parts, name) >= 0 for name in PART_NAMES)
        assert parts.medfee_sumamt == line.amount_fen
        assert parts.fund_pay_sumamt + parts.acct_pay + parts.psn_cash_pay == line.amount_fen
        assert parts.fulamt_ownpay_amt + parts.preselfpay_amt + parts.inscp_scp_amt == (
            line.amount_fen
        )
        assert parts.act_pay_dedc + parts.hifp_pay <= parts.inscp_scp_amt
        assert parts.psn_part_amt == line.amount_fen - parts.fund_pay_sumamt
        assert parts.acct_pay <= parts.psn_part_amt - parts.fulamt_ownpay_amt
    total = split.total
    assert total == sum_parts(split.lines)
    assert total.act_pay_dedc <= max(0, terms.deductible_fen - deductible_met)
    assert total.hifp_pay <= max(0, terms.annual_ceiling_fen - fund_paid)
    assert total.acct_pay <= (balance if use_account else 0)


@settings(max_examples=200)
@given(
    terms=st.lists(terms_strategy, min_size=1, max_size=3),
    balance=st.integers(0, 2_000_000),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("settle"), st.integers(0, 2), st.booleans(), lines_strategy),
            st.tuples(st.just("refund"), st.integers(0, 50)),
        ),
        max_size=25,
    ),
)
def test_deductible_ceiling_and_balance_hold_across_settlements_and_refunds(terms, balance, steps):
    # One person's year at up to three tiers of one scheme: the ceiling is the scheme's, each
    # tier has its own deductible and ratio.
    ceiling = terms[0].annual_ceiling_fen
    tiers = [
        Terms(t.deductible_fen, t.fund_ratio_bp, ceiling, t.self_pay_first_bp, t.covered_kinds)
        for t in terms
    ]
    largest_deductible = max(tier.deductible_fen for tier in tiers)
    ytd = YearToDate()
    account = balance
    live = []
    for step in steps:
        if step[0] == "settle":
            _, tier, use_account, lines = step
            split = split_claim(
                tiers[tier % len(tiers)],
                year_to_date=ytd,
                account_balance_fen=account,
                use_account=use_account,
                lines=lines,
            )
            ytd = ytd.plus(split.total)
            account -= split.total.acct_pay
            live.append(split.total)
        elif live:
            refunded = live.pop(step[1] % len(live))
            ytd = ytd.minus(refunded)
            account += refunded.acct_pay
        assert 0 <= ytd.deductible_met_fen <= largest_deductible
        assert 0 <= ytd.fund_paid_fen <= ceiling
        assert 0 <= account <= balance
        assert account + sum(parts.acct_pay for parts in live) == balance
    for parts in live:
        ytd = ytd.minus(parts)
        account += parts.acct_pay
    assert ytd == YearToDate()
    assert account == balance
