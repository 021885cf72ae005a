"""Every message of the identity domain has a zh-CN translation with the same fields.

Messages shared with other domains (the layout's "Sign in", the resident ID messages) may be
translated in another catalog; the merged zh-CN catalog must have them all.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from babel.messages.pofile import read_po

import ihospital
from ihospital.core.i18n import catalog as merged_catalog

SRC = Path(ihospital.__file__).resolve().parent
PO_FILE = SRC / "locale" / "zh_CN" / "LC_MESSAGES" / "identity.po"
MODULES = [*sorted((SRC / "identity").glob("*.py")), SRC / "core" / "ids.py"]
TEMPLATES = sorted((SRC / "web" / "templates" / "identity").glob("*.html"))
ERRORS = {
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Locked",
    "NotFound",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "Unprocessable",
}
MESSAGE_ARG = {**dict.fromkeys(ERRORS, 1), "flash": 2, "Notice": 0, "translate": 0}
CONSTANT_SUFFIXES = ("_MESSAGE", "_REASON", "_TEXT", "MESSAGES")


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = node.value
    return found


def _strings(node: ast.expr | None, constants: dict[str, ast.expr]) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in constants:
        return _strings(constants[node.id], constants)
    if isinstance(node, ast.Dict):
        return [text for value in node.values for text in _strings(value, constants)]
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _strings(value, constants)]
    return []


def python_messages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _constants(tree)
    messages = {
        text
        for name, value in constants.items()
        if name.endswith(CONSTANT_SUFFIXES)
        for text in _strings(value, constants)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            position = MESSAGE_ARG.get(name)
            if position is not None and len(node.args) > position:
                messages.update(_strings(node.args[position], constants))
    return messages


def template_messages(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {
        match.group(2) for match in re.finditer(r"""_\(\s*(["'])(.+?)\1""", text, flags=re.DOTALL)
    }


def all_messages() -> set[str]:
    messages: set[str] = set()
    for module in MODULES:
        messages |= python_messages(module)
    for template in TEMPLATES:
        messages |= template_messages(template)
    return messages


def catalog() -> dict[str, str]:
    with PO_FILE.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_extractor_finds_messages_of_every_kind():
    messages = all_messages()
    assert "The mobile number or password is wrong." in messages  # an error
    assert "A resident ID number has exactly 18 characters." in messages  # a ValueError message
    assert "{name} was added." in messages  # a flash
    assert "Create your account" in messages  # a template


def test_every_identity_message_is_translated_to_chinese():
    translations = merged_catalog("zh-CN")
    missing = sorted(m for m in all_messages() if not translations.get(m))
    assert missing == []


def test_translations_keep_the_fields_of_their_message():
    wrong = {
        message: translation
        for message, translation in catalog().items()
        if translation and _fields(message) != _fields(translation)
    }
    assert wrong == {}
