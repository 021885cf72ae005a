"""The settlement engine on worked examples computed by hand (the arithmetic is in each test).

Unless said otherwise the terms are 武汉 职工医保 at a 三级 hospital from the policy table:
起付线 ¥700 (70 000 fen) a year, the fund pays 60 % (6 000 bp), 封顶线 ¥3 000 (300 000 fen),
乙类 drugs 10 % self-pay first, covered online: follow-up consultations and their drugs.
"""

from __future__ import annotations

import pytest

from ihospital.billing.insurance.engine import (
    SELF_PAY,
    ClaimLine,
    Parts,
    YearToDate,
    split_claim,
)
from ihospital.billing.insurance.policy import load_policy_table

WUHAN_EMPLOYEE_TERTIARY = load_policy_table().find("420100").terms("employee", "tertiary")
DEDUCTIBLE_MET = YearToDate(deductible_met_fen=70_000, fund_paid_fen=0)


def _split(lines, *, ytd=DEDUCTIBLE_MET, balance=0, use_account=False, terms=None):
    return split_claim(
        terms or WUHAN_EMPLOYEE_TERTIARY,
        year_to_date=ytd,
        account_balance_fen=balance,
        use_account=use_account,
        lines=lines,
    )


def test_wuhan_terms_are_read_from_the_table():
    assert WUHAN_EMPLOYEE_TERTIARY.deductible_fen == 70_000
    assert WUHAN_EMPLOYEE_TERTIARY.fund_ratio_bp == 6_000
    assert WUHAN_EMPLOYEE_TERTIARY.annual_ceiling_fen == 300_000
    assert dict(WUHAN_EMPLOYEE_TERTIARY.self_pay_first_bp) == {"A": 0, "B": 1_000}
    assert WUHAN_EMPLOYEE_TERTIARY.covered_kinds == {"consultation", "drug"}


def test_first_claim_of_the_year_goes_wholly_to_the_deductible_and_the_account_pays_it():
    # consultation 5 000 + 甲类 30 000 = 35 000 within policy, all below the open ¥700
    # deductible: 起付 35 000, fund 0; the account (balance 100 000) pays all 35 000.
    split = _split(
        [ClaimLine(5_000, "consultation"), ClaimLine(30_000, "drug", "A")],
        ytd=YearToDate(),
        balance=100_000,
        use_account=True,
    )
    assert split.total == Parts(
        medfee_sumamt=35_000,
        fulamt_ownpay_amt=0,
        preselfpay_amt=0,
        inscp_scp_amt=35_000,
        act_pay_dedc=35_000,
        hifp_pay=0,
        fund_pay_sumamt=0,
        acct_pay=35_000,
        psn_cash_pay=0,
        psn_part_amt=35_000,
    )
    assert [line.act_pay_dedc for line in split.lines] == [5_000, 30_000]
    assert [line.acct_pay for line in split.lines] == [5_000, 30_000]


def test_after_the_deductible_the_fund_pays_60_percent_and_b_class_pays_10_percent_first():
    # consultation 5 000; 乙类 20 000: self-pay first 10 % = 2 000, within 18 000.
    # within 23 000, fund 60 % = 13 800: by lines 13 800 × 5/23 = 3 000, × 18/23 = 10 800.
    # patient: 25 000 − 13 800 = 11 200, in cash (no account used).
    split = _split([ClaimLine(5_000, "consultation"), ClaimLine(20_000, "drug", "B")])
    consultation, drug = split.lines
    assert (consultation.hifp_pay, consultation.psn_cash_pay) == (3_000, 2_000)
    assert (drug.preselfpay_amt, drug.inscp_scp_amt, drug.hifp_pay) == (2_000, 18_000, 10_800)
    assert drug.psn_cash_pay == 9_200
    assert split.total.hifp_pay == split.total.fund_pay_sumamt == 13_800
    assert split.total.psn_part_amt == split.total.psn_cash_pay == 11_200


def test_the_last_yuan_of_the_deductible_is_apportioned_by_largest_remainder():
    # 1 000 of the deductible is still open (69 000 met); lines 3 333 + 6 667 = 10 000.
    # 起付 exact shares 333.3 and 666.7 → floors 333 + 666, the spare fen to the larger
    # remainder (line 2): 333 + 667. Fund: (10 000 − 1 000) × 60 % = 5 400, by what is left
    # of each line (3 000, 6 000): 1 800 + 3 600.
    split = _split(
        [ClaimLine(3_333, "consultation"), ClaimLine(6_667, "drug", "A")],
        ytd=YearToDate(deductible_met_fen=69_000),
    )
    assert [line.act_pay_dedc for line in split.lines] == [333, 667]
    assert [line.hifp_pay for line in split.lines] == [1_800, 3_600]
    assert [line.psn_cash_pay for line in split.lines] == [1_533, 3_067]
    assert split.total.act_pay_dedc == 1_000


@pytest.mark.parametrize(
    ("fund_paid", "fund", "patient"),
    [
        (299_000, 1_000, 9_000),  # ¥10 left of the ceiling: 60 % of 10 000 = 6 000 cut to 1 000
        (300_000, 0, 10_000),  # the ceiling reached: the patient pays everything
    ],
)
def test_the_fund_stops_at_the_annual_ceiling(fund_paid, fund, patient):
    split = _split(
        [ClaimLine(10_000, "consultation")],
        ytd=YearToDate(deductible_met_fen=70_000, fund_paid_fen=fund_paid),
    )
    assert (split.total.hifp_pay, split.total.psn_cash_pay) == (fund, patient)


def test_the_funds_fraction_of_a_fen_goes_to_the_patient_and_lines_by_largest_remainder():
    # 101 + 102 = 203 within; 60 % = 121.8 → the fund pays 121 (rounded down).
    # by lines: 121 × 101/203 = 60.2, 121 × 102/203 = 60.8 → 60 + 60, the spare fen to line 2.
    split = _split([ClaimLine(101, "consultation"), ClaimLine(102, "consultation")])
    assert split.total.hifp_pay == 121
    assert [line.hifp_pay for line in split.lines] == [60, 61]
    assert [line.psn_cash_pay for line in split.lines] == [41, 41]


def test_b_class_self_pay_first_share_is_rounded_half_up_per_line():
    # 10 % of 15 fen = 1.5 → 2; 10 % of 14 fen = 1.4 → 1.
    split = _split([ClaimLine(15, "drug", "B"), ClaimLine(14, "drug", "B")])
    assert [line.preselfpay_amt for line in split.lines] == [2, 1]
    assert [line.inscp_scp_amt for line in split.lines] == [13, 13]


def test_uncovered_items_are_fully_self_paid_and_never_from_the_personal_account():
    # delivery 800, a first-visit consultation 3 000 and a 丙类 drug 1 200 are outside policy:
    # 全自费 5 000. The 甲类 drug 10 000 (deductible met): fund 6 000, patient 4 000, which the
    # account (balance 100 000) pays; the 5 000 self-paid stays in cash.
    split = _split(
        [
            ClaimLine(800, "delivery"),
            ClaimLine(3_000, "consultation", online_follow_up=False),
            ClaimLine(1_200, "drug", "C"),
            ClaimLine(10_000, "drug", "A"),
        ],
        balance=100_000,
        use_account=True,
    )
    assert [line.fulamt_ownpay_amt for line in split.lines] == [800, 3_000, 1_200, 0]
    assert [line.acct_pay for line in split.lines] == [0, 0, 0, 4_000]
    assert split.total.fulamt_ownpay_amt == 5_000
    assert split.total.hifp_pay == 6_000
    assert split.total.acct_pay == 4_000
    assert split.total.psn_cash_pay == 5_000


def test_the_personal_account_pays_at_most_its_balance():
    # patient share 4 000 (10 000 − fund 6 000); balance 1 500 → account 1 500, cash 2 500.
    split = _split([ClaimLine(10_000, "drug", "A")], balance=1_500, use_account=True)
    assert (split.total.acct_pay, split.total.psn_cash_pay) == (1_500, 2_500)


def test_the_personal_account_is_not_touched_unless_the_patient_chooses_it():
    split = _split([ClaimLine(10_000, "drug", "A")], balance=100_000, use_account=False)
    assert split.total.acct_pay == 0
    assert split.total.psn_cash_pay == 4_000


def test_beijing_resident_at_a_community_centre_pays_the_100_yuan_deductible_then_45_percent():
    # 北京 城乡居民 一级及社区: 起付 ¥100 (10 000), fund 55 %. Lines 8 000 + 12 000 = 20 000:
    # 起付 10 000 (by lines 4 000 + 6 000), fund 55 % × 10 000 = 5 500 (2 200 + 3 300),
    # patient 20 000 − 5 500 = 14 500.
    terms = load_policy_table().find("110105").terms("resident", "primary")
    split = _split(
        [ClaimLine(8_000, "consultation"), ClaimLine(12_000, "drug", "A")],
        ytd=YearToDate(),
        terms=terms,
    )
    assert [line.act_pay_dedc for line in split.lines] == [4_000, 6_000]
    assert [line.hifp_pay for line in split.lines] == [2_200, 3_300]
    assert split.total.psn_part_amt == 14_500


def test_self_pay_terms_leave_everything_to_the_patient_in_cash():
    split = _split(
        [ClaimLine(5_000, "consultation"), ClaimLine(2_000, "drug", "A")],
        terms=SELF_PAY,
        balance=100_000,
        use_account=True,
    )
    assert split.total.fulamt_ownpay_amt == split.total.psn_cash_pay == 7_000
    assert split.total.fund_pay_sumamt == split.total.acct_pay == 0


def test_year_to_date_grows_with_a_settlement_and_shrinks_back_with_its_reversal():
    split = _split([ClaimLine(80_000, "drug", "A")], ytd=YearToDate())
    # 起付 70 000, fund 60 % × 10 000 = 6 000.
    after = YearToDate().plus(split.total)
    assert after == YearToDate(deductible_met_fen=70_000, fund_paid_fen=6_000)
    assert after.minus(split.total) == YearToDate()


@pytest.mark.parametrize(
    "lines",
    [[], [ClaimLine(0, "consultation")], [ClaimLine(-5, "drug", "A")]],
    ids=["no lines", "zero amount", "negative amount"],
)
def test_a_claim_without_positive_lines_is_a_programming_error(lines):
    with pytest.raises(ValueError):
        _split(lines)


def test_a_negative_balance_or_year_total_is_a_programming_error():
    with pytest.raises(ValueError):
        _split([ClaimLine(100, "consultation")], balance=-1)
    with pytest.raises(ValueError):
        _split([ClaimLine(100, "consultation")], ytd=YearToDate(fund_paid_fen=-1))
