"""No UI helper exists twice: one confirmation dialog, one date parser (and format), one field error, one
status line, one CSV export. Checked on the source, so a second copy fails here before it drifts."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI = [path for folder in ("astrofin_tui", "screens", "widgets") for path in sorted((ROOT / folder).rglob("*.py"))]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _trees() -> dict[str, ast.Module]:
    return {_rel(path): ast.parse(path.read_text()) for path in UI}


def _defined(name_pattern: str) -> list[str]:
    found = []
    for where, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and re.fullmatch(name_pattern, node.name):
                found.append(f"{where}:{node.name}")
    return found


def _importers(module: str) -> list[str]:
    found = []
    for where, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(alias.name == module for alias in node.names):
                found.append(where)
            elif isinstance(node, ast.ImportFrom) and node.module == module:
                found.append(where)
    return found


def test_one_confirmation_dialog() -> None:
    """The one yes/no dialog (y and enter say yes, n and escape say no, and it says so)."""
    yes_no = []
    for where, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and "ModalScreen[bool]" in " ".join(map(ast.unparse, node.bases)):
                source = ast.unparse(node)
                if re.search(r"Binding\(\s*'[^']*\by\b", source):
                    yes_no.append(f"{where}:{node.name}")
    assert yes_no == ["screens/confirm.py:ConfirmScreen"]


def test_one_date_parser_and_format() -> None:
    assert _defined(r"parse_(date|day)|format_(date|day)|input_day") == ["widgets/dates.py:format_date",
                                                                          "widgets/dates.py:parse_date"]
    for path in UI:
        if _rel(path) != "widgets/dates.py":
            text = path.read_text()
            assert "fromisoformat" not in text and "strptime" not in text, f"{_rel(path)} parses a date itself"


def test_one_field_error_and_one_status_line() -> None:
    assert _defined(r"FieldError|status_text|FieldRow") == ["widgets/fields.py:FieldRow"]
    assert _defined(r".*Status(Line)?") == ["widgets/status.py:StatusLine"]


def test_one_csv_export() -> None:
    assert _importers("csv") == ["screens/export.py"]
    assert [name for name in _defined(r".*(csv|export).*") if not name.startswith("screens/export.py")] == [
        name for name in _defined(r"action_export|export_queue|_export.*")]
