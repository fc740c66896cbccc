"""The repository's documents stand on their own: no file points outside the repository, every relative link
in the Markdown resolves, and every section of docs/database.md that code and SQL cite exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_DOC = ROOT / "docs" / "database.md"
# Names of documents that live outside the repository (written in pieces so this file does not match itself).
OUTSIDE = tuple("".join(parts) for parts in (
    ("shared", "/spec"), ("../", "shared"), ("original", "-design"), ("domain", ".md"), ("terminal", ".md"),
    ("branch", "-day.md"),
))
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")
CITED_SECTION = re.compile(r'docs/database\.md[\'’]?s? "([^"]+)"(?:, "([^"]+)")?(?:, "([^"]+)")?')


def _tracked() -> list[Path]:
    """The repository's text files: those git tracks, or (outside a git checkout) every file but the virtual
    environment's and caches."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        paths = [ROOT / line for line in listed.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        paths = [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    paths += list((ROOT / "docs").glob("*.md"))  # documents not committed yet
    return sorted({p for p in paths if p.is_file() and p.suffix in {".py", ".md", ".sql", ".sh", ".toml", ".json",
                                                                        ".tcss", ".mako"}})


def test_no_file_points_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    found = [f"{path.relative_to(ROOT)}: {name}" for path in _tracked() if path != this
             for name in OUTSIDE if name in path.read_text(encoding="utf-8", errors="replace")]
    assert found == []


def test_markdown_links_resolve() -> None:
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target, _anchor in LINK.findall(doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} → {target}")
    assert broken == []


def test_cited_sections_of_the_database_doc_exist() -> None:
    headings = [line.lstrip("#").strip() for line in DATABASE_DOC.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    missing = []
    cited = 0
    for path in _tracked():
        for match in CITED_SECTION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            for section in filter(None, match.groups()):
                cited += 1
                if not any(heading.startswith(section) for heading in headings):
                    missing.append(f"{path.relative_to(ROOT)}: {section}")
    assert cited >= 5 and missing == []
