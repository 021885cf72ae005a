"""The triage engine on its own: negation, duration, body sites, children, pregnancy, elders,
red flags first, English and mixed text, and the data files agreeing with each other."""

from __future__ import annotations

import pytest

from ihospital.triage.engine import Assessment, Patient, assess
from ihospital.triage.knowledge import load_knowledge
from ihospital.triage.reading import chinese_number, has_words


def triage(text: str, **patient: object) -> Assessment:
    return assess(text, Patient(**patient), load_knowledge())  # type: ignore[arg-type]


def codes(assessment: Assessment) -> list[str]:
    return [department.code for department in assessment.departments]


def finding(assessment: Assessment, symptom: str):
    return next(f for f in assessment.findings if f.symptom == symptom)


@pytest.mark.parametrize(
    ("text", "denied", "described"),
    [
        ("不发烧，就是咳嗽", "fever", "cough"),
        ("没有咳嗽和发烧，就是头疼", "cough", "headache"),
        ("头不疼，肚子疼", "headache", "abdominal_pain"),
        ("no fever but a bad cough", "fever", "cough"),
        ("没想过自杀，就是睡不着", "suicidal_thoughts", "insomnia"),
    ],
)
def test_a_denied_symptom_is_read_as_denied_and_scores_nothing(text, denied, described):
    assessment = triage(text)
    assert finding(assessment, denied).negated
    assert not finding(assessment, described).negated
    assert denied not in [f.symptom for f in assessment.described]
    assert not assessment.red_flags


def test_a_negation_stops_at_a_word_that_is_no_symptom():
    assessment = triage("不知道为什么头疼")
    assert not finding(assessment, "headache").negated


@pytest.mark.parametrize(
    ("text", "symptom", "days"),
    [
        ("咳嗽三天了", "cough", 3),
        ("头疼两周", "headache", 14),
        ("拉肚子，已经半个月了", "diarrhea", 15),
        ("I have had a headache for 3 days", "headache", 3),
        ("sore throat for a week", "sore_throat", 7),
    ],
)
def test_the_duration_belongs_to_the_symptoms_of_its_clause(text, symptom, days):
    assert finding(triage(text), symptom).duration_days == days


def test_a_cough_of_more_than_two_weeks_adds_tuberculosis():
    assessment = triage("咳嗽一个多月了")
    assert codes(assessment)[0] == "03.01"
    assert "17" in codes(assessment)
    assert "long_cough" in assessment.rules
    assert "17" not in codes(triage("咳嗽三天了"))


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("肚子有点疼", "abdominal_pain"),
        ("嗓子很痛", "sore_throat"),
        ("my stomach hurts", "abdominal_pain"),
    ],
)
def test_a_body_site_and_a_feeling_make_a_symptom(text, symptom):
    assert finding(triage(text), symptom).words


@pytest.mark.parametrize(
    ("text", "patient", "expected"),
    [
        ("咳嗽有痰", {"age_years": 5}, "07"),
        ("3岁宝宝咳嗽", {}, "07"),
        ("孩子摔了一跤胳膊疼", {"age_years": 6}, "08"),
        ("咳嗽有痰", {"age_years": 30}, "03.01"),
    ],
)
def test_children_go_to_paediatrics_or_paediatric_surgery(text, patient, expected):
    assert codes(triage(text, **patient))[0] == expected


def test_an_adult_is_not_sent_to_paediatrics():
    assessment = triage("尿床", age_years=25)
    assert codes(assessment)[0] == "04.04"
    assert not {"07", "08", "09"} & set(codes(assessment))


def test_pregnancy_puts_obstetrics_first_with_the_reason():
    assessment = triage("怀孕了，咳嗽好几天", sex="female")
    assert codes(assessment)[0] == "05.02"
    assert "pregnancy" in assessment.departments[0].rules
    assert "03.01" in codes(assessment)


@pytest.mark.parametrize(
    ("text", "patient"),
    [("没有怀孕，月经推迟了", {"sex": "female"}), ("怀孕，肚子疼", {"sex": "male"})],
)
def test_a_denied_pregnancy_or_a_man_is_not_taken_as_pregnant(text, patient):
    assessment = triage(text, **patient)
    assert not assessment.pregnant
    assert codes(assessment)[0] != "05.02"


def test_a_man_is_not_sent_to_gynaecology():
    assert not [c for c in codes(triage("下腹疼，尿痛", sex="male")) if c.startswith("05")]


def test_an_elder_also_gets_geriatrics_after_the_department_of_the_symptom():
    assessment = triage("咳嗽有痰", age_years=75)
    assert codes(assessment)[0] == "03.01"
    assert "03.10" in codes(assessment)


@pytest.mark.parametrize(
    ("text", "patient", "flag"),
    [
        ("胸口疼，出冷汗", {}, "cardiac_chest_pain"),
        ("胸口疼到左胳膊", {}, "cardiac_chest_pain"),
        ("突然嘴歪，说话不清", {}, "stroke"),
        ("一侧肢体无力", {}, "stroke"),
        ("喘不上气", {}, "difficulty_breathing"),
        ("手割破了，血流不止", {}, "severe_bleeding"),
        ("宝宝2个月大，发烧38度", {}, "infant_fever"),
        ("8个月大的宝宝发高烧", {}, "infant_high_fever"),
        ("宝宝8个月，高烧39.5度", {}, "infant_high_fever"),
        ("宝宝8个月，高烧39.5度", {"age_years": 0}, "infant_high_fever"),
        ("孩子刚两个月，发烧38度", {}, "infant_fever"),
        ("宝宝出生20天，发烧了", {}, "infant_fever"),
        ("喝了农药", {}, "poisoning"),
        ("I want to kill myself", {}, "suicidal_thoughts"),
    ],
)
def test_a_red_flag_comes_before_any_department(text, patient, flag):
    assessment = triage(text, **patient)
    assert assessment.red_flags[0].rule["id"] == flag
    assert codes(assessment)[0] == assessment.red_flags[0].rule["department"]
    assert f"red_flag:{flag}" in assessment.departments[0].rules


def test_self_harm_is_answered_with_the_crisis_hotlines():
    [flag] = triage("不想活了").red_flags
    assert flag.rule["call"][:2] == ["12356", "010-82951332"]
    assert flag.rule["department"] == "15"


@pytest.mark.parametrize(
    ("text", "patient"),
    [
        ("胸痛，不出汗", {}),
        ("发烧38度", {"age_years": 30}),
        ("发烧", {"age_years": 2}),
        ("孩子两个月来一直低烧", {"age_years": 6}),  # two months of fever, not a 2-month-old
    ],
)
def test_no_red_flag_without_its_signs(text, patient):
    assert not triage(text, **patient).red_flags


def test_a_temperature_of_39_is_a_high_fever():
    assessment = triage("发烧39.5℃")
    assert {"fever", "high_fever"} <= {f.symptom for f in assessment.described}


def test_mixed_chinese_and_english_are_read_together():
    assessment = triage("我headache三天, no fever，还咳嗽")
    assert finding(assessment, "headache").duration_days == 3
    assert finding(assessment, "fever").negated
    assert not finding(assessment, "cough").negated


def test_nothing_recognised_goes_to_general_practice():
    assessment = triage("说不上来哪里不对劲")
    assert codes(assessment) == ["02"]
    assert assessment.departments[0].rules == ["no_symptom"]


def test_the_scores_are_shares_best_first_with_their_reasons():
    assessment = triage("心慌胸闷")
    scores = [d.score for d in assessment.departments]
    assert scores == sorted(scores, reverse=True)
    assert 0.99 <= sum(scores) <= 1.01
    assert assessment.departments[0].symptoms == ["palpitations", "chest_tightness"]


@pytest.mark.parametrize(("text", "expected"), [("😀😀", False), ("!!!", False), ("头疼", True)])
def test_text_without_letters_has_no_words(text, expected):
    assert has_words(text) is expected


@pytest.mark.parametrize(("text", "value"), [("三", 3), ("十五", 15), ("二十", 20), ("两", 2)])
def test_chinese_numbers(text, value):
    assert chinese_number(text) == value


def test_the_data_files_name_only_known_symptoms_and_national_departments():
    knowledge = load_knowledge()
    symptoms = set(knowledge.symptoms)
    assert set(knowledge.weights) <= symptoms
    assert symptoms <= set(knowledge.weights), "every symptom points somewhere"
    for pairs in knowledge.weights.values():
        assert {code for code, _ in pairs} <= set(knowledge.departments)
    feelings = {word.value for word in knowledge.words.values() if word.kind == "sensation"}
    for (site, with_), symptom in knowledge.composites.items():
        assert site in knowledge.sites and symptom in symptoms
        assert with_ in symptoms | feelings
    for rule in knowledge.red_flags:
        assert set(rule["all"]) | set(rule["any"]) <= symptoms
        assert rule["department"] in knowledge.departments
    for rule in knowledge.context_rules:
        targets = [*rule.get("remap", {}).values(), *rule.get("boost", {}), rule.get("lead")]
        assert {code for code in targets if code} <= set(knowledge.departments)
