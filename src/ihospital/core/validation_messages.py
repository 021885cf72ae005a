"""A human message (an English message id, translated by the catalogs) per Pydantic error type.

The messages speak to a patient or a doctor filling in a form, never to a programmer: no class
names, regular expressions or parser details. A message may use the fields of the error's ``ctx``
that Pydantic always gives for its type (``{min_length}`` for ``string_too_short``); a test checks
every type has one, that it only uses such fields, and that zh-CN translates it.

Our own validators raise ``ValueError`` whose text is an English message id; that text is shown,
translated, for ``value_error``.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

ENTER_DATE = "Enter a date (YYYY-MM-DD)."
ENTER_TIME = "Enter a time (HH:MM)."
ENTER_DATETIME = "Enter a date and time (YYYY-MM-DD HH:MM)."
ENTER_DURATION = "Enter a duration, such as PT30M for 30 minutes."
ENTER_NUMBER = "Enter a number."
ENTER_WHOLE_NUMBER = "Enter a whole number."
ENTER_TEXT = "Enter text."
ENTER_LIST = "Enter a list."
ENTER_DISTINCT_LIST = "Enter a list of different values."
ENTER_URL = "Enter a web address, such as https://example.com."
ENTER_UUID = "Enter a valid identifier (UUID)."
CHOOSE_YES_NO = "Choose yes or no."
CHOOSE_ONE = "Choose one of: {expected}."
NEED_OBJECT = "Send an object with the expected fields."
REQUIRED = "This field is required."
NOT_ALLOWED = "This field is not allowed."
NOT_VALID = "The value is not valid."
WRONG_KIND = "This value is not of the expected kind."

MESSAGES: dict[str, str] = {
    "no_such_attribute": "This field is not recognised.",
    "json_invalid": "The data sent is not valid JSON.",
    "json_type": "The data sent must be JSON text.",
    "needs_python_object": WRONG_KIND,
    "recursion_loop": "The data refers to itself in a loop.",
    "recursion_depth_exceeded": "The data is nested too deeply.",
    "missing": REQUIRED,
    "frozen_field": "This field cannot be changed.",
    "frozen_instance": "This record cannot be changed.",
    "extra_forbidden": NOT_ALLOWED,
    "invalid_key": "Field names must be text.",
    "get_attribute_error": "This value could not be read.",
    "model_type": NEED_OBJECT,
    "model_attributes_type": NEED_OBJECT,
    "dataclass_type": NEED_OBJECT,
    "dataclass_exact_type": NEED_OBJECT,
    "default_factory_not_called": "Correct the other errors first.",
    "none_required": "Leave this field empty.",
    "greater_than": "Enter a value greater than {gt}.",
    "greater_than_equal": "Enter a value of at least {ge}.",
    "less_than": "Enter a value less than {lt}.",
    "less_than_equal": "Enter a value of at most {le}.",
    "multiple_of": "Enter a multiple of {multiple_of}.",
    "finite_number": ENTER_NUMBER,
    "too_short": "Give at least {min_length} items.",
    "too_long": "Give at most {max_length} items.",
    "iterable_type": ENTER_LIST,
    "iteration_error": "This list could not be read.",
    "string_type": ENTER_TEXT,
    "string_unicode": "The text contains characters that cannot be read.",
    "string_too_short": "Enter at least {min_length} characters.",
    "string_too_long": "Enter at most {max_length} characters.",
    "string_pattern_mismatch": "Check the format of this value.",
    "string_not_ascii": "Use only English letters, digits and common symbols.",
    "enum": CHOOSE_ONE,
    "dict_type": NEED_OBJECT,
    "frozen_dict_type": NEED_OBJECT,
    "ordered_dict_type": NEED_OBJECT,
    "counter_type": NEED_OBJECT,
    "named_tuple_type": ENTER_LIST,
    "deque_type": ENTER_LIST,
    "ellipsis_error": NOT_VALID,
    "mapping_type": NEED_OBJECT,
    "list_type": ENTER_LIST,
    "tuple_type": ENTER_LIST,
    "set_type": ENTER_DISTINCT_LIST,
    "set_item_not_hashable": "Each item of the list must be a single value.",
    "bool_type": CHOOSE_YES_NO,
    "bool_parsing": CHOOSE_YES_NO,
    "int_type": ENTER_WHOLE_NUMBER,
    "int_parsing": ENTER_WHOLE_NUMBER,
    "int_parsing_size": "The number is too large.",
    "int_from_float": "Enter a whole number without decimals.",
    "float_type": ENTER_NUMBER,
    "float_parsing": ENTER_NUMBER,
    "bytes_type": "Attach a file or enter text.",
    "bytes_too_short": "The data must be at least {min_length} bytes.",
    "bytes_too_long": "The data must be at most {max_length} bytes.",
    "bytes_invalid_encoding": "The data is not valid {encoding}.",
    "value_error": NOT_VALID,
    "assertion_error": NOT_VALID,
    "literal_error": CHOOSE_ONE,
    "missing_sentinel_error": "Leave this field out.",
    "date_type": ENTER_DATE,
    "date_parsing": ENTER_DATE,
    "date_from_datetime_parsing": ENTER_DATE,
    "date_from_datetime_inexact": "Enter a date without a time (YYYY-MM-DD).",
    "date_past": "Enter a date in the past.",
    "date_future": "Enter a date in the future.",
    "time_type": ENTER_TIME,
    "time_parsing": ENTER_TIME,
    "datetime_type": ENTER_DATETIME,
    "datetime_parsing": ENTER_DATETIME,
    "datetime_object_invalid": "This date and time does not exist.",
    "datetime_from_date_parsing": ENTER_DATETIME,
    "datetime_past": "Enter a time in the past.",
    "datetime_future": "Enter a time in the future.",
    "timezone_naive": "Enter the time without a time zone.",
    "timezone_aware": "Enter the time with its time zone, such as +08:00.",
    "timezone_offset": "Enter the time in the expected time zone.",
    "time_delta_type": ENTER_DURATION,
    "time_delta_parsing": ENTER_DURATION,
    "frozen_set_type": ENTER_DISTINCT_LIST,
    "is_instance_of": WRONG_KIND,
    "is_subclass_of": WRONG_KIND,
    "callable_type": WRONG_KIND,
    "union_tag_invalid": "Choose one of: {expected_tags}.",
    "union_tag_not_found": "The field {discriminator} is required.",
    "arguments_type": NEED_OBJECT,
    "missing_argument": REQUIRED,
    "unexpected_keyword_argument": NOT_ALLOWED,
    "missing_keyword_only_argument": REQUIRED,
    "unexpected_positional_argument": NOT_ALLOWED,
    "missing_positional_only_argument": REQUIRED,
    "multiple_argument_values": "This field is given more than once.",
    "url_type": ENTER_URL,
    "url_parsing": ENTER_URL,
    "url_syntax_violation": ENTER_URL,
    "url_too_long": "Enter a web address of at most {max_length} characters.",
    "url_scheme": "The web address must start with one of: {expected_schemes}.",
    "uuid_type": ENTER_UUID,
    "uuid_parsing": ENTER_UUID,
    "uuid_version": "Enter a version {expected_version} identifier (UUID).",
    "decimal_type": ENTER_NUMBER,
    "decimal_parsing": ENTER_NUMBER,
    "fraction_type": ENTER_NUMBER,
    "fraction_parsing": ENTER_NUMBER,
    "decimal_max_digits": "Enter a number with at most {max_digits} digits.",
    "decimal_max_places": "Enter a number with at most {decimal_places} decimal places.",
    "decimal_whole_digits": (
        "Enter a number with at most {whole_digits} digits before the decimal point."
    ),
    "complex_type": ENTER_NUMBER,
    "complex_str_parsing": ENTER_NUMBER,
}

# Better words when the count in the error is exactly one ("at least 1 characters").
WHEN_ONE: dict[str, tuple[str, str]] = {
    "string_too_short": ("min_length", "Fill in this field."),
    "too_short": ("min_length", "Give at least one item."),
}

# ctx values Pydantic words in English ("'a', 'b' or 'c'"); shown as a plain list instead.
_LISTED = ("expected", "expected_tags", "expected_schemes")


def message_for(error: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The message id for one Pydantic error and the ``ctx`` fields it uses, as text."""
    error_type = str(error.get("type", "value_error"))
    ctx = dict(error.get("ctx") or {})
    if error_type == "value_error" and str(ctx.get("error") or ""):
        return str(ctx["error"]), {}
    if error_type in WHEN_ONE:
        key, message = WHEN_ONE[error_type]
        if str(ctx.get(key)) == "1":
            return message, {}
    message = MESSAGES.get(error_type, NOT_VALID)
    fields = {}
    for _, key, _, _ in Formatter().parse(message):
        if key and key in ctx:
            text = str(ctx[key])
            fields[key] = text.replace(" or ", ", ") if key in _LISTED else text
    return message, fields
