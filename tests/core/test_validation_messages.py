import re
import string
import typing

import pytest
from pydantic_core import PydanticKnownError, core_schema

from ihospital.core.i18n import catalog, translate
from ihospital.core.validation_messages import MESSAGES, NOT_VALID, WHEN_ONE, message_for

ERROR_TYPES = typing.get_args(core_schema.ErrorType)
PROGRAMMER_WORDS = re.compile(r"Input should|dictionary|instance|regex|pattern|None|Python|class")


def _context_fields(error_type: str) -> dict[str, object]:
    """The ctx fields Pydantic always gives for ``error_type``: it refuses to build without them."""
    ctx: dict[str, object] = {}
    while True:
        try:
            PydanticKnownError(error_type, ctx or None)  # type: ignore[arg-type]
            return ctx
        except (KeyError, TypeError) as refusal:
            found = re.search(
                r"'(\w+)' (?:required in context|context value must be)", str(refusal)
            )
            assert found, refusal
            name = found.group(1)
            if name in ctx:  # present but of the wrong kind: Pydantic wants text
                ctx[name] = "x"
            else:
                ctx[name] = 1


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_pydantic_has_the_error_types_we_expect():
    assert len(ERROR_TYPES) >= 104


@pytest.mark.parametrize("error_type", ERROR_TYPES)
def test_every_pydantic_error_type_has_a_message_using_only_its_context(error_type):
    message = MESSAGES.get(error_type)
    assert message, f"no human message for the Pydantic error type {error_type!r}"
    assert _placeholders(message) <= set(_context_fields(error_type)), message


def test_no_message_is_kept_for_an_error_type_pydantic_does_not_have():
    assert set(MESSAGES) - set(ERROR_TYPES) == set()
    assert set(WHEN_ONE) <= set(MESSAGES)


@pytest.mark.parametrize(
    "message", sorted(set(MESSAGES.values()) | {text for _, text in WHEN_ONE.values()})
)
def test_every_validation_message_speaks_to_a_person_and_has_a_chinese_translation(message):
    assert not PROGRAMMER_WORDS.search(message), message
    assert message.endswith("."), message
    chinese = catalog("zh-CN").get(message, "")
    assert chinese.strip(), f"no zh-CN translation for {message!r}"
    assert _placeholders(chinese) == _placeholders(message)


@pytest.mark.parametrize("error_type", ERROR_TYPES)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_real_error_of_each_type_renders_without_leftover_fields(error_type, language):
    ctx = _context_fields(error_type)
    if error_type == "value_error":
        ctx = {"error": ValueError("Enter a date (YYYY-MM-DD).")}
    message, fields = message_for({"type": error_type, "loc": ("body", "x"), "ctx": ctx})
    text = translate(message, language, **fields)
    assert text and "{" not in text and "}" not in text, text


def test_our_own_value_error_text_is_the_message_and_is_translated():
    error = {"type": "value_error", "ctx": {"error": ValueError("Enter a date (YYYY-MM-DD).")}}
    message, fields = message_for(error)
    assert (message, fields) == ("Enter a date (YYYY-MM-DD).", {})
    assert translate(message, "zh-CN") == "请输入日期（格式：YYYY-MM-DD）。"


def test_a_value_error_without_text_gets_the_general_message():
    assert message_for({"type": "value_error", "ctx": {"error": ValueError()}}) == (NOT_VALID, {})


def test_an_assertion_in_a_validator_is_not_shown_to_the_user():
    error = {"type": "assertion_error", "ctx": {"error": AssertionError("x > 0 in check_dose")}}
    assert message_for(error) == (NOT_VALID, {})


def test_an_unknown_custom_error_type_gets_the_general_message():
    assert message_for({"type": "dose_too_high", "ctx": {"limit": 3}})[0] == NOT_VALID


def test_a_count_of_one_reads_naturally():
    assert message_for({"type": "string_too_short", "ctx": {"min_length": 1}}) == (
        "Fill in this field.",
        {},
    )
    message, fields = message_for({"type": "string_too_short", "ctx": {"min_length": 2}})
    assert translate(message, "en", **fields) == "Enter at least 2 characters."
    assert translate(message, "zh-CN", **fields) == "请至少输入 2 个字符。"


def test_choices_are_listed_without_english_words():
    error = {"type": "literal_error", "ctx": {"expected": "'male', 'female' or 'unknown'"}}
    message, fields = message_for(error)
    assert (
        translate(message, "zh-CN", **fields) == "请从以下选项中选择：'male', 'female', 'unknown'。"
    )
