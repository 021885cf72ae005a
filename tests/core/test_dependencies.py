"""What the app imports when it runs comes from the packages it depends on, not only from the test
extra: a fresh ``pip install .`` must be enough for ``ihospital demo`` (the tests' environment has
the test extra too, so an import alone would not notice)."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import ihospital

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(ihospital.__file__).resolve().parent


def _installed_closure(requirements: list[str]) -> set[str]:
    """The distributions the requirements bring, with their own requirements (extras asked for
    included), as canonical names."""
    pending = [Requirement(text) for text in requirements]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(requirement.name) or []
        except PackageNotFoundError:
            continue
        for text in needs:
            need = Requirement(text)
            extras = requirement.extras or {""}
            if need.marker is None or any(
                need.marker.evaluate({"extra": extra}) for extra in extras
            ):
                pending.append(need)
    return seen


def _imported_modules() -> set[str]:
    modules: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"ihospital", "__future__"}


def test_every_module_the_app_imports_is_a_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _installed_closure(project["dependencies"])
    owners = packages_distributions()
    missing = {
        module: owners.get(module, ["?"])
        for module in _imported_modules()
        if not {canonicalize_name(dist) for dist in owners.get(module, [])} & runtime
    }
    assert missing == {}, "add these to [project] dependencies in pyproject.toml"
