"""The refusal of a prescription whose checks fail: one problem listing every finding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ihospital.errors import Unprocessable
from ihospital.prescribing.checks import DrugNames, Finding
from ihospital.prescribing.models import Drug
from ihospital.prescribing.schemas import finding_read

CHECKS_FAILED_MESSAGE = (
    "The prescription cannot be signed: resolve the blocking findings and give the reasons "
    "the warnings ask for."
)


class ChecksFailed(Unprocessable):
    """422 ``prescribing.checks_failed`` with ``findings``: each with its code, severity and
    translated message naming the drug (R10, R11, R16–R18)."""

    def __init__(self, findings: Sequence[Finding], drugs: Mapping[int, Drug]) -> None:
        super().__init__("prescribing.checks_failed", CHECKS_FAILED_MESSAGE)
        self.findings = list(findings)
        self.drugs = {
            drug_id: DrugNames(drug.generic_name_zh, drug.generic_name_en)
            for drug_id, drug in drugs.items()
        }

    def to_problem(self, language: str, instance: str | None = None) -> dict[str, Any]:
        body = super().to_problem(language, instance)
        body["findings"] = [
            finding_read(finding, self.drugs, language).model_dump() for finding in self.findings
        ]
        return body
