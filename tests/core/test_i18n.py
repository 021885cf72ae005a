"""Translation coverage: every message the code can show has a zh-CN translation.

Message ids are collected from the source, not listed by hand:

- ``_("...")``, ``gettext("...")``, ``translate("...")`` in Python and ``_("...")`` in templates;
- the English message (second positional argument, or ``message=``) of every call of an
  ``AppError`` subclass, including ``super().__init__(code, "...")`` inside one, and the class
  ``title`` of each;
- module-level message constants: names ending in ``MESSAGE`` (a string) or ``MESSAGES`` (a dict
  of strings), which covers the validation messages and the texts our validators raise;
- ``ValueError(NAME)`` with NAME a module-level string, anywhere, and ``ValueError("...")`` inside
  a Pydantic validator (a function decorated with ``field_validator``/``model_validator`` or passed
  to ``AfterValidator``/``BeforeValidator``/``PlainValidator``/``WrapValidator``), since Pydantic
  shows that text to the user.
"""

from __future__ import annotations

import ast
import re
import string
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract
from babel.messages.pofile import read_po

import ihospital
from ihospital.core.i18n import LOCALE_DIR, catalog, normalise_language, pick_language

SOURCE = Path(ihospital.__file__).resolve().parent
ROOT = SOURCE.parent.parent
TEMPLATES = SOURCE / "web" / "templates"
ZH_CATALOGS = LOCALE_DIR / "zh_CN" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "translate": None}
VALIDATOR_DECORATORS = {"field_validator", "model_validator", "validator", "root_validator"}
VALIDATOR_WRAPPERS = {"AfterValidator", "BeforeValidator", "PlainValidator", "WrapValidator"}


@dataclass(frozen=True)
class Constant:
    texts: tuple[str, ...]
    where: str


@dataclass
class Module:
    path: Path
    tree: ast.Module

    def where(self, line: int) -> str:
        return f"{self.path.relative_to(ROOT)}:{line}"


def _modules() -> list[Module]:
    paths = sorted(p for p in SOURCE.rglob("*.py") if "migrations" not in p.parts)
    return [Module(path, ast.parse(path.read_text(encoding="utf-8"))) for path in paths]


def _gettext_calls(path: Path, method: str) -> list[tuple[str, str]]:
    found = []
    with path.open("rb") as handle:
        for line, message, _comments, _context in extract(method, handle, KEYWORDS):
            text = message[0] if isinstance(message, tuple) else message
            if text:
                found.append((text, f"{path.relative_to(ROOT)}:{line}"))
    return found


def _text(node: ast.expr | None) -> str | None:
    """A string literal (adjacent literals are already joined into one by the parser)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _constants(module: Module) -> dict[str, Constant]:
    """Module-level ``NAME = "text"`` and ``NAME = {key: "text", ...}``."""
    found: dict[str, Constant] = {}
    for node in module.tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if text := _text(value):
            texts: tuple[str, ...] = (text,)
        elif isinstance(value, ast.Dict):
            texts = tuple(t for item in value.values for t in _texts_of(item, found))
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found[target.id] = Constant(texts, module.where(node.lineno))
    return found


def _texts_of(node: ast.expr | None, earlier: dict[str, Constant]) -> tuple[str, ...]:
    """A literal, or a name bound earlier in the module to one (``"type": ENTER_DATE``)."""
    if text := _text(node):
        return (text,)
    if isinstance(node, ast.Tuple):  # (key, "text") pairs
        return tuple(t for item in node.elts for t in _texts_of(item, earlier))
    if isinstance(node, ast.Name) and node.id in earlier:
        return earlier[node.id].texts
    return ()


def _app_error_classes(modules: list[Module]) -> set[str]:
    names = {"AppError"}
    grew = True
    while grew:
        grew = False
        for module in modules:
            for node in ast.walk(module.tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in names
                    and {_name(base) for base in node.bases} & names
                ):
                    names.add(node.name)
                    grew = True
    return names


def _validator_functions(modules: list[Module]) -> set[str]:
    names = set()
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and _name(node.func) in VALIDATOR_WRAPPERS and node.args:
                names.add(_name(node.args[0]))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                decorators = {
                    _name(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list
                }
                if decorators & VALIDATOR_DECORATORS:
                    names.add(node.name)
    return names


def _message_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "message":
            return keyword.value
    return call.args[1] if len(call.args) > 1 else None


def _is_super_init(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and _name(func.value.func) == "super"
    )


def _ast_messages(modules: list[Module]) -> Iterator[tuple[str, str]]:
    constants: dict[str, list[str]] = defaultdict(list)
    for module in modules:
        for name, constant in _constants(module).items():
            constants[name].extend(constant.texts)
            if name.endswith(("MESSAGE", "MESSAGES")):
                yield from ((text, f"{constant.where} ({name})") for text in constant.texts)
    error_classes = _app_error_classes(modules)
    validators = _validator_functions(modules)

    def resolve(node: ast.expr | None, *, literal: bool = True) -> list[str]:
        if literal and (text := _text(node)):
            return [text]
        return constants.get(node.id, []) if isinstance(node, ast.Name) else []

    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and node.name in error_classes:
                for item in node.body:
                    if isinstance(item, ast.Assign) and "title" in map(_name, item.targets):
                        yield from ((t, module.where(item.lineno)) for t in resolve(item.value))
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and _is_super_init(call):
                        where = module.where(call.lineno)
                        yield from ((t, where) for t in resolve(_message_argument(call)))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                in_validator = node.name in validators
                for call in ast.walk(node):
                    if (
                        isinstance(call, ast.Call)
                        and _name(call.func) == "ValueError"
                        and call.args
                    ):
                        texts = resolve(call.args[0], literal=in_validator)
                        yield from ((t, module.where(call.lineno)) for t in texts)
            if isinstance(node, ast.Call) and _name(node.func) in error_classes:
                where = module.where(node.lineno)
                yield from ((t, where) for t in resolve(_message_argument(node)))


def collect_message_ids() -> dict[str, set[str]]:
    """Every message id the code can show, with where it comes from."""
    modules = _modules()
    found = list(_ast_messages(modules))
    for module in modules:
        found += _gettext_calls(module.path, "python")
    for path in sorted(TEMPLATES.rglob("*.html")):
        found += _gettext_calls(path, "jinja2.ext:babel_extract")
    messages: dict[str, set[str]] = defaultdict(set)
    for text, where in found:
        messages[text].add(where)
    return messages


def _po_files() -> list[Path]:
    return sorted(ZH_CATALOGS.glob("*.po"))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_the_code_can_show_has_a_chinese_translation():
    translations = catalog("zh-CN")
    messages = collect_message_ids()
    missing = {
        text: where for text, where in messages.items() if not translations.get(text, "").strip()
    }
    report = "\n".join(
        f"  {text!r}  <- {', '.join(sorted(where))}" for text, where in sorted(missing.items())
    )
    assert not missing, f"{len(missing)} message ids lack a zh-CN translation:\n{report}"


def test_the_collector_finds_each_kind_of_message():
    messages = collect_message_ids()
    assert "Not found" in messages  # an AppError title
    assert "There is nothing at this address." in messages  # an AppError message
    assert "Enter a date (YYYY-MM-DD)." in messages  # a validation message
    assert "Server error" in messages
    assert any(
        where.startswith("src/ihospital/web/templates/")
        for where in set().union(*messages.values())
    ), "no template message was found"


def test_every_catalog_parses_as_utf8_gettext_with_a_header():
    assert _po_files(), "no zh-CN catalog"
    for path in _po_files():
        raw = path.read_bytes()
        raw.decode("utf-8")  # strict: an invalid byte fails here
        parsed = read_po(BytesIO(raw), locale="zh_CN", abort_invalid=True)
        headers = dict(parsed.mime_headers)
        content_type = headers.get("Content-Type", "").lower()
        assert "charset=utf-8" in content_type, f"{path.name}: no UTF-8 Content-Type header"


def test_no_message_id_is_translated_differently_in_two_catalogs():
    seen: dict[str, dict[str, str]] = defaultdict(dict)
    for path in _po_files():
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id and message.string:
                    seen[str(message.id)][path.name] = str(message.string)
    clashes = {text: files for text, files in seen.items() if len(set(files.values())) > 1}
    report = "\n".join(f"  {text!r}: {files}" for text, files in sorted(clashes.items()))
    assert not clashes, f"message ids translated differently across catalogs:\n{report}"


def test_translations_keep_the_placeholders_of_their_message_id():
    wrong = []
    for path in _po_files():
        with path.open("rb") as handle:
            for message in read_po(handle):
                if not (message.id and message.string):
                    continue
                source, translated = str(message.id), str(message.string)
                try:
                    same = _placeholders(source) == _placeholders(translated)
                except ValueError:  # an unbalanced brace: str.format would fail on it
                    same = False
                if not same:
                    wrong.append(f"  {path.name}: {source!r} -> {translated!r}")
    assert not wrong, "translations whose {fields} differ from the message id:\n" + "\n".join(wrong)


def test_language_names_are_normalised():
    assert normalise_language("zh_cn") == "zh-CN"
    assert normalise_language("en-US") == "en"
    assert normalise_language("fr") is None


def test_accept_language_is_ranked_by_quality():
    assert pick_language("en;q=0.3, zh-CN;q=0.9") == "zh-CN"
    assert pick_language("fr, en;q=0.5") == "en"
    assert pick_language("zh;q=0, en") == "en"
    assert pick_language("fr, de") == "zh-CN"
    assert pick_language(None) == "zh-CN"


def test_message_ids_use_named_placeholders():
    """``{name}``, not ``{}`` or ``{0}``: a translator may need to reorder them."""
    positional = [
        f"  {text!r} <- {', '.join(sorted(where))}"
        for text, where in collect_message_ids().items()
        if re.search(r"\{\d*(?:[!:][^}]*)?\}", text)
    ]
    assert not positional, "message ids with positional placeholders:\n" + "\n".join(positional)
