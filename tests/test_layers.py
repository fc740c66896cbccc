"""The layers import only downwards: astrofin_tui → screens → widgets, and `db` under all of them.

- `db` imports nothing of Textual, screens, widgets or astrofin_tui (it runs in scripts and workers too);
- widgets import no repository and no `db` module that reaches the database (they draw; screens fetch);
- screens import nothing of astrofin_tui (the app assembles screens, not the other way round).

Every import statement counts, at the top of a module or inside a function (a lazy import is still a
dependency), and so does `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("db", "widgets", "screens", "astrofin_tui")
# A `db` module that imports one of these (directly or through other `db` modules) talks to the database.
DATABASE = ("sqlalchemy", "psycopg", "alembic", "db.engine", "db.repositories")


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """Every module an import statement anywhere in `source` names, with its line.

    `from a import b` yields both `a` and `a.b` (b may be a submodule); relative imports are resolved
    against `module`.
    """
    found: list[tuple[str, int]] = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            found.append((origin, node.lineno))
            found.extend((f"{origin}.{alias.name}", node.lineno) for alias in node.names if alias.name != "*")
    return found


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@cache
def _imports_of_file(path: Path) -> tuple[tuple[str, int], ...]:
    return tuple(imported_names(path.read_text(encoding="utf-8"), module_name(path),
                                is_package=path.name == "__init__.py"))


def _file_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def reaches_database(module: str, seen: set[str] | None = None) -> list[str]:
    """The chain of imports by which `module` (one of ours) reaches the database, or [] when it does not."""
    seen = set() if seen is None else seen
    if _within(module, DATABASE):
        return [module]
    if module in seen:
        return []
    seen.add(module)
    path = _file_of(module)
    if path is None:
        return []
    for name, _line in _imports_of_file(path):
        if _within(name, DATABASE):
            return [module, name]
        if _within(name, ("db",)):
            chain = reaches_database(name, seen)
            if chain:
                return [module, *chain]
    return []


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in _sources(package):
        for name, line in _imports_of_file(path):
            if _within(name, forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return sorted(set(found))


def test_db_imports_no_user_interface() -> None:
    assert violations("db", ("textual", "screens", "widgets", "astrofin_tui")) == []


def test_screens_import_nothing_of_the_app() -> None:
    assert violations("screens", ("astrofin_tui",)) == []


def test_widgets_import_no_screen_app_or_repository() -> None:
    assert violations("widgets", ("screens", "astrofin_tui", "db.repositories", "db.engine")) == []


def test_widgets_import_only_db_modules_that_stay_away_from_the_database() -> None:
    found = []
    for path in _sources("widgets"):
        for name, line in _imports_of_file(path):
            if _within(name, ("db",)) and _file_of(name) is not None:
                chain = reaches_database(name)
                if chain:
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {' → '.join(chain)}")
    assert found == []


def test_every_package_is_walked() -> None:
    for package in PACKAGES:
        assert _sources(package), package
    assert "db.repositories.base" in {name for name, _ in _imports_of_file(ROOT / "db/repositories/accounting.py")}


# The walker itself: each of these must be caught, or the rules above could pass by seeing nothing.

LAZY = '''
def export() -> None:
    from astrofin_tui.app import AstroFinanceApp
    import textual.widgets
'''


@pytest.mark.parametrize(("source", "module", "expected"), [
    (LAZY, "screens.reports", {"astrofin_tui.app", "astrofin_tui.app.AstroFinanceApp", "textual.widgets"}),
    ("from . import engine\n", "db.seed", {"db", "db.engine"}),
    ("from ..repositories.payments import Receipt\n", "db.sms.dispatcher",
     {"db.repositories.payments", "db.repositories.payments.Receipt"}),
    ("from .base import Repository\n", "db.repositories", {"db.repositories.base", "db.repositories.base.Repository"}),
    ("if TYPE_CHECKING:\n    from db.repositories.loans import Loan\n", "widgets.tables",
     {"db.repositories.loans", "db.repositories.loans.Loan"}),
])
def test_walker_sees_lazy_relative_and_type_checking_imports(source: str, module: str, expected: set[str]) -> None:
    names = {name for name, _ in imported_names(source, module, is_package=module == "db.repositories")}
    assert names == expected


def test_a_db_module_that_imports_the_engine_reaches_the_database() -> None:
    assert reaches_database("db.repositories.payments")[-1].startswith("db.repositories")
    assert reaches_database("db.seed") == ["db.seed", "sqlalchemy"]
    assert reaches_database("db.paths") == []
