"""The regional policy table: the shipped file is valid, lookups fall back from district to
city to province, and a malformed table is refused when it is loaded."""

from __future__ import annotations

import copy
import json

import pytest

from ihospital.billing.insurance.policy import (
    POLICY_FILE,
    TIERS,
    PolicyTableError,
    load_policy_table,
    parse_policy_table,
    tier_of,
)
from ihospital.directory.models import INSTITUTION_LEVELS

SHIPPED = json.loads(POLICY_FILE.read_text(encoding="utf-8"))


def _with(change) -> str:
    table = copy.deepcopy(SHIPPED)
    change(table)
    return json.dumps(table, ensure_ascii=False)


def test_the_shipped_table_has_wuhan_hubei_and_beijing():
    table = load_policy_table()
    assert set(table.regions) >= {"420100", "420000", "110000"}


@pytest.mark.parametrize(
    ("region_code", "entry"),
    [
        ("420100", "420100"),  # 武汉市 itself
        ("420102", "420100"),  # 江岸区 → 武汉市
        ("420502", "420000"),  # 宜昌 西陵区 → 湖北省 baseline
        ("110105", "110000"),  # 北京 朝阳区 → 北京市
    ],
)
def test_a_region_finds_its_own_entry_then_its_city_then_its_province(region_code, entry):
    assert load_policy_table().find(region_code).region_code == entry


def test_a_region_without_an_entry_finds_nothing():
    assert load_policy_table().find("310104") is None  # 上海 徐汇区


@pytest.mark.parametrize(
    ("level", "tier"),
    [("三级甲等", "tertiary"), ("二级乙等", "secondary"), ("社区卫生服务中心", "primary")],
)
def test_an_institution_level_maps_to_its_tier(level, tier):
    assert tier_of(level) == tier


def test_every_institution_level_has_a_tier():
    assert {tier_of(level) for level in INSTITUTION_LEVELS} == set(TIERS)


def _drop_tier(table):
    del table["regions"][0]["schemes"]["employee"]["tiers"]["primary"]


def _drop_scheme(table):
    del table["regions"][0]["schemes"]["resident"]


def _negative_deductible(table):
    table["regions"][0]["schemes"]["employee"]["tiers"]["primary"]["deductible_fen"] = -1


def _fractional_ceiling(table):
    table["regions"][0]["schemes"]["employee"]["annual_ceiling_fen"] = 300000.5


def _ratio_above_100_percent(table):
    table["regions"][0]["schemes"]["employee"]["tiers"]["primary"]["fund_ratio_bp"] = 10_001


def _ratio_as_text(table):
    table["regions"][0]["schemes"]["employee"]["tiers"]["primary"]["fund_ratio_bp"] = "8000"


def _class_c_covered(table):
    table["regions"][0]["drug_classes"]["C"]["covered"] = True


def _class_missing(table):
    del table["regions"][0]["drug_classes"]["B"]


def _delivery_covered(table):
    table["regions"][0]["online_covered_kinds"].append("delivery")


def _unknown_kind(table):
    table["regions"][0]["online_covered_kinds"].append("massage")


def _region_twice(table):
    table["regions"].append(copy.deepcopy(table["regions"][0]))


def _bad_region_code(table):
    table["regions"][0]["region_code"] = "4201"


def _unknown_field(table):
    table["regions"][0]["schemes"]["employee"]["tiers"]["primary"]["ratio"] = 80


def _no_sources(table):
    table["regions"][0]["sources"] = []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_drop_tier, "tiers missing: primary"),
        (_drop_scheme, "insurance types missing: resident"),
        (_negative_deductible, "deductible_fen"),
        (_fractional_ceiling, "annual_ceiling_fen"),
        (_ratio_above_100_percent, "fund_ratio_bp"),
        (_ratio_as_text, "fund_ratio_bp"),
        (_class_c_covered, "丙类 (C) drugs are never covered"),
        (_class_missing, "drug classes A, B and C must all be listed"),
        (_delivery_covered, "never covered online: delivery"),
        (_unknown_kind, "online_covered_kinds"),
        (_region_twice, "a region code is listed twice"),
        (_bad_region_code, "region_code"),
        (_unknown_field, "ratio"),
        (_no_sources, "sources"),
    ],
)
def test_a_malformed_table_is_refused_at_load_saying_what_is_wrong(change, says):
    with pytest.raises(PolicyTableError, match="malformed") as raised:
        parse_policy_table(_with(change))
    assert says in str(raised.value)


def test_a_table_that_is_not_json_is_refused():
    with pytest.raises(PolicyTableError, match="not valid JSON"):
        parse_policy_table("{regions: [")
