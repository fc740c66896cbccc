"""No SQL is built from strings: every SQL argument of execute()/text()/exec_driver_sql() in the application's
sources is a literal. Values travel as bound parameters; identifiers (which SQL cannot bind) come only from
fixed whitelists or the catalog, quoted — those few lines are listed below, each with why it is safe.

A call whose SQL is a variable is followed to where the variable comes from: a parameter of the enclosing
function is checked at every call of that function in the scanned sources.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.faultlib import record

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("astrofin_tui", "screens", "widgets", "db")
SINKS = {"execute", "executemany", "exec_driver_sql", "text"}

# (file, a fragment of the line) -> why the string built there holds no input.
ALLOWED = {
    ("db/maintenance.py", "SELECT count(*) FROM public.{name}"): "table names from the fixed TABLES tuple",
    ("db/maintenance.py", "REINDEX TABLE public.{table}"): "table names from the fixed TABLES tuple",
    ("db/maintenance.py", "REINDEX DATABASE {quoted}"): "current_database(), quoted by the dialect's identifier "
                                                        "preparer",
    ("db/backup.py", "FROM public.{quoted} t"): "relation names read from pg_class, quoted as identifiers",
    ("db/bootstrap.py", "CREATE DATABASE {quoted}"): "a database name quoted as an identifier; CREATE DATABASE "
                                                     "takes no parameters",
    ("db/scripts_common.py", "CREATE DATABASE {quote_ident(conn, name)}"): "checked and quoted database name",
    ("db/scripts_common.py", "DROP DATABASE IF EXISTS {quote_ident(conn, name)}"): "checked and quoted "
                                                                                   "database name",
    ("db/scripts_common.py", "ALTER DATABASE {quote_ident(conn, old)} RENAME TO"): "checked and quoted names",
    ("db/repositories/reports.py", "ORDER BY o.oldest_due_date, o.loan_id LIMIT :n"): "the overdue queue's SQL "
        "is joined from fixed fragments chosen by flags, so each shape keeps its index plan; values are bound",
    ("db/repositories/reports.py", "session.execute(statement, params)"): "statement from _queue_sql above",
    ("db/one_trip.py", "cursor.execute(message, params, prepare=False)"): "the fixed settings statement before a "
        "statement SQLAlchemy compiled (or a write kept in a fixed set_config and its read, text clauses the callers "
        "pass as literals), values bound as parameters",
    ("db/scale_seed.py", "cur.execute(_STAGING)"): "a module constant",
    ("db/imports/book.py", "self.raw.execute(_ROW_SETTINGS, self.settings)"): "a module constant; the importer's "
        "settings bound as parameters in each row's own transaction",
    ("db/scale_seed.py", "cur.execute(sql)"): "the CHECKS constants",
    ("db/scale_seed.py", "cur.execute(statement, params if"): "statements split from module constants",
    ("db/scale_seed.py", "SELECT count(*) FROM {table}"): "table names from a fixed tuple",
    ("db/scale_seed.py", "VACUUM (ANALYZE) {table}"): "table names from a fixed tuple; VACUUM takes no parameters",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    source: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source}"


def _built(node: ast.expr) -> bool:
    """An f-string with values, a %-format, a + with a non-literal, or a .format()/.join() call."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return not (isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        return True
    return False


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _enclosing_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.FunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node  # type: ignore[return-value]
    return None


def _allowed(path: str, source: str) -> bool:
    return any(path == file and fragment in source for file, fragment in ALLOWED)


def scan() -> tuple[list[Finding], int]:
    """(SQL arguments built from strings and not allowed, how many SQL call sites were checked)."""
    modules = {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8"))
               for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}
    findings: list[Finding] = []
    checked = 0
    # (module, function name, argument position, keyword) whose value reaches a sink: checked at every call
    # in that module (the helpers that pass SQL on are private to their module).
    forwarded: list[tuple[str, str, int, str]] = []
    for path, tree in modules.items():
        parents = _parents(tree)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if _name(call) not in SINKS or not call.args:
                continue
            checked += 1
            sql = call.args[0]
            line = ast.unparse(call)
            if _built(sql) and not _allowed(path, line):
                findings.append(Finding(path, call.lineno, line[:140]))
            elif isinstance(sql, ast.Name):
                function = _enclosing_function(call, parents)
                names = [a.arg for a in function.args.args] if function else []
                if sql.id not in names:
                    if not _allowed(path, line):
                        findings.append(Finding(path, call.lineno, f"{line[:120]} (SQL from a local variable)"))
                else:
                    assert function is not None
                    position = names.index(sql.id) - (1 if names and names[0] == "self" else 0)
                    forwarded.append((path, function.name, position, sql.id))
    for path, tree in modules.items():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            for module, function, position, keyword in forwarded:
                if module != path or _name(call) != function:
                    continue
                checked += 1
                argument = next((k.value for k in call.keywords if k.arg == keyword), None)
                if argument is None and len(call.args) > position:
                    argument = call.args[position]
                if argument is None:
                    continue
                line = ast.unparse(call)
                literal = isinstance(argument, ast.Constant) and isinstance(argument.value, str)
                if not literal and not (_built(argument) and _allowed(path, line)):
                    findings.append(Finding(path, call.lineno, f"{line[:140]} (SQL passed to {function})"))
    return findings, checked


def test_no_sql_is_built_from_strings() -> None:
    findings, checked = scan()
    assert findings == [], "SQL built from strings:\n" + "\n".join(map(str, findings))
    assert checked > 100
    record("scan of astrofin_tui, screens, widgets, db for SQL built with f-strings, %, + or .format() "
           "(ast; variables followed to every caller)", checked,
           f"0 findings; {len(ALLOWED)} allowlisted identifier-only lines, each with its reason", group="sql")


def test_the_scan_finds_what_it_is_meant_to_find(tmp_path: Path) -> None:
    bad = ast.parse("def f(conn, name):\n    conn.execute(text(f'SELECT * FROM t WHERE n = {name}'))\n"
                    "    conn.execute(text('SELECT ' + name))\n    conn.execute(text('x %s' % name))\n")
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Call) and _name(n) == "text"]
    assert [_built(c.args[0]) for c in calls] == [True, True, True]
    assert not _built(ast.parse("'SELECT 1' + ' FROM t'", mode="eval").body)  # type: ignore[arg-type]
