"""A screen's stylesheet styles that screen only: opening one screen never changes how another looks.

Textual loads a screen's CSS_PATH file into the app's one stylesheet the first time the screen opens, and
keeps it. A rule such as `.status { margin: 1 0 }` in one screen's file would restyle every `.status` of
every screen from then on. So every rule of every stylesheet beside a screen module must start with (or be
nested in) a screen class defined in that module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from textual.css.parse import parse

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "screens"
STYLESHEETS = sorted(SCREENS.glob("*.tcss"))


def screen_classes(module: Path) -> set[str]:
    """Classes of the module that are screens (their bases name a Screen)."""
    tree = ast.parse(module.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = " ".join(ast.unparse(base) for base in node.bases)
            if "Screen" in bases or "DatabaseCalls" in bases:
                found.add(node.name)
    return found


def first_selectors(stylesheet: Path) -> list[str]:
    css = re.sub(r"\$[A-Za-z0-9_-]+", "red", stylesheet.read_text())  # values do not matter here
    names: list[str] = []
    for rule in parse("", css, (str(stylesheet), "")):
        for selector_list in rule.selector_set:
            names.append(selector_list.selectors[0].name)
    return names


@pytest.mark.parametrize("stylesheet", STYLESHEETS, ids=[path.name for path in STYLESHEETS])
def test_every_rule_is_scoped_to_a_screen_of_its_module(stylesheet: Path) -> None:
    users = [path for path in SCREENS.glob("*.py") if f'"{stylesheet.name}"' in path.read_text()]
    assert users, f"{stylesheet.name} is used by no screen"
    allowed = set().union(*(screen_classes(path) for path in users))
    unscoped = sorted({name for name in first_selectors(stylesheet) if name not in allowed})
    assert not unscoped, (f"{stylesheet.name}: rules starting with {unscoped} would restyle every other screen; "
                          f"nest them in one of {sorted(allowed)}")


def test_the_check_catches_an_unscoped_rule(tmp_path: Path) -> None:
    sheet = tmp_path / "x.tcss"
    sheet.write_text("XScreen { .inner { height: 1; } }\n.status { height: 1; }\n")
    assert set(first_selectors(sheet)) == {"XScreen", "status"}
