"""Reading the questionnaire editor's form as a browser would post it (text fields, textareas,
the chosen option of each select, ticked boxes only; no buttons), for the page tests."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser


class _EditorForm(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        if not self.inside:
            return
        name = found.get("name")
        if tag == "input" and name and found.get("type") != "submit":
            if found.get("type") != "checkbox" or "checked" in found:
                self.fields[name] = unescape(found.get("value", ""))
        elif tag == "select" and name:
            self.select, self.first_option = name, None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = found.get("value", "")
                self.fields.setdefault(self.select, self.first_option)
            if "selected" in found:
                self.fields[self.select] = found.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data


def editor_fields(html: str, form_id: str = "editor") -> dict[str, str]:
    reader = _EditorForm(form_id)
    reader.feed(html)
    return reader.fields
