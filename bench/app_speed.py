"""The app itself at scale: keystroke to results on screen, and the resident memory of the app's process.

`measure(url, names)` starts a fresh Python process that runs the real `AstrofinApp` under Textual's Pilot
(`app.run_test()`, headless driver, a fixed 80×24 screen). In it a person signs in through the sign-in form
(cashier, the demo password), presses F2 for the customer lookup and types each surname of a sample drawn
from the book one key at a time, from its first letter to its last. For each key the clock starts just
before the key is handed to the app and stops at the first frame the screen paints (rendered to the bytes a
terminal driver would write) in which the results table holds the answer for the text typed so far, with
that answer's first row (or "No customer matches.") in the frame: the debounce, the query, the message back
to the UI thread, the table fill and the render all count. The next key follows once the frame is out.

The process then reports its resident memory (VmRSS), its peak over the whole run (VmHWM, which includes
the password hash's 64 MiB during sign-in) and its peak from the first keystroke on (the peak is reset with
/proc/self/clear_refs after sign-in, where the kernel allows it).

Afterwards the parent process checks, outside the timing, that every answer shown was the repository's
answer for its text (never an older keystroke's), so a fast but stale screen cannot pass.

Run on its own against a seeded database: `uv run python -m bench.app_speed <url> [--names 200]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL

SIZE = (80, 24)
USERNAME = "cashier"
KEY_TIMEOUT = 10.0
"""Seconds a key may take before it counts as never answered."""


@dataclass
class AppSpeed:
    """What one run measured: per-key latencies (ms) and the process's memory (MB)."""

    latencies: list[float]
    queries: list[float]
    """For each key, the repository's search call inside it (ms): the database's share of the latency."""
    rss_mb: float
    peak_mb: float
    peak_after_sign_in_mb: float | None
    names: int
    unanswered: int = 0
    stale: list[str] = field(default_factory=list)
    debounce_ms: float = 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p95(self) -> float:
        return _p95(self.latencies)

    @property
    def query_p95(self) -> float:
        return _p95(self.queries)

    @property
    def app_p95(self) -> float:
        """p95 of each key's latency less its search call: the debounce, the UI thread and the render."""
        return _p95([total - query for total, query in zip(self.latencies, self.queries, strict=True)])


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else float("nan")


def sample_surnames(url: URL | str, count: int, *, seed: int = 8) -> list[str]:
    """Distinct surnames of customers drawn at random from the book (a fixed draw for a given seed)."""
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            top = conn.execute(text("SELECT max(id) FROM customers")).scalar_one() or 0
            rng = random.Random(seed)
            ids = [rng.randint(1, top) for _ in range(count * 4)] if top else []
            found = conn.execute(text("SELECT id, last_name FROM customers WHERE id = ANY(:ids)"),
                                 {"ids": ids}).all()
    finally:
        engine.dispose()
    by_id = {row.id: row.last_name for row in found}
    names: list[str] = []
    for customer_id in ids:
        name = by_id.get(customer_id)
        if name and name not in names and name.isascii():  # Pilot presses ASCII keys by name
            names.append(name)
        if len(names) == count:
            break
    return names


def measure(url: URL | str, names: int = 200, *, seed: int = 8, timeout: float = 3600) -> AppSpeed:
    """Type `names` surnames into the real app in a process of its own; check what it showed."""
    rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    surnames = sample_surnames(url, names, seed=seed)
    done = subprocess.run([sys.executable, "-m", "bench.app_speed", "--probe", rendered],
                          input=json.dumps(surnames), capture_output=True, text=True, check=False, timeout=timeout,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode:
        raise RuntimeError(f"the app probe failed:\n{done.stderr[-4000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    result = AppSpeed(latencies=report["latencies"], queries=report["queries"], rss_mb=report["rss_mb"],
                      peak_mb=report["peak_mb"],
                      peak_after_sign_in_mb=report["peak_after_sign_in_mb"], names=len(surnames),
                      unanswered=report["unanswered"], debounce_ms=report["debounce_ms"])
    result.stale = _stale(url, report["shown"])
    return result


def _stale(url: URL | str, shown: list[tuple[str, list[int]]]) -> list[str]:
    """Texts whose rows on screen were not the repository's answer for that text."""
    from db.engine import Actor, make_engine
    from db.repositories.customers import CustomerRepository

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, username, role FROM users WHERE username = :u"),
                               {"u": USERNAME}).one()
        repo = CustomerRepository(engine, Actor(row.id, row.username, row.role))
        return [typed for typed, ids in shown if [r.id for r in repo.search(typed).rows] != ids]
    finally:
        engine.dispose()


# --- the probe: runs in the measured process ------------------------------------------------------------

def _memory() -> dict[str, float]:
    """VmRSS and VmHWM of this process in MB (Linux); ru_maxrss elsewhere."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"rss": peak, "peak": peak}
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status.splitlines()
              if line.startswith(("VmRSS:", "VmHWM:"))}
    return {"rss": values["VmRSS"], "peak": values["VmHWM"]}


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def _probe(url: str, surnames: list[str]) -> dict[str, Any]:
    from textual.widgets import Input

    from astrofin_tui.app import AstrofinApp
    from db.engine import make_engine
    from db.repositories.customers import CustomerRepository
    from db.seed import DEMO_USERS
    from screens.customer_lookup import CustomerLookupScreen
    from screens.home import HomeScreen
    from screens.sign_in import DemoAccount
    from widgets.tables import PageTable

    engine = make_engine(url)
    app = AstrofinApp(engine, demo_accounts=[DemoAccount(u, role) for u, _name, role in DEMO_USERS],
                      theme="textual-dark", quiet_cursor=True)
    latencies: list[float] = []
    queries: list[float] = []
    searched: dict[str, float] = {}
    shown: list[tuple[str, list[int]]] = []
    unanswered = 0
    wanted: dict[str, Any] = {}
    import asyncio

    painted = asyncio.Event()

    async def until(condition: Any, what: str, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {seconds:.0f} s for {what}")
            await asyncio.sleep(0.01)

    search = CustomerRepository.search

    def timed_search(repo: CustomerRepository, query: str, **kwargs: Any) -> Any:
        """The real search, timed: how much of a key's latency is the database's."""
        began = time.perf_counter()
        try:
            return search(repo, query, **kwargs)
        finally:
            searched[query] = (time.perf_counter() - began) * 1000

    CustomerRepository.search = timed_search  # type: ignore[method-assign, assignment]
    async with app.run_test(size=SIZE) as pilot:
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            lookup = wanted.get("screen")
            if lookup is None or renderable is None or painted.is_set():
                return
            if lookup.shown_query != wanted["text"]:
                return
            frame = renderable.render_segments(app.console)  # the bytes a terminal driver would write
            table = lookup.query_one("#results", PageTable)
            # The answer's first row must be in the frame; an empty answer clears the table's region.
            if not table.row_count or str(table.get_row_at(0)[0]) in frame:
                wanted["at"] = time.perf_counter()
                painted.set()

        app._display = display  # type: ignore[method-assign]
        await until(lambda: app.screen.query("#username"), "the sign-in screen")
        await pilot.click("#username")
        await pilot.press(*USERNAME, "enter", *f"{USERNAME}-demo", "enter")
        await until(lambda: isinstance(app.screen, HomeScreen), "home after signing in")
        signed_in = _memory()
        peak_reset = _reset_peak()
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, CustomerLookupScreen), "the customer lookup")
        screen = app.screen
        assert isinstance(screen, CustomerLookupScreen)
        field = screen.query_one("#search", Input)
        for surname in surnames:
            field.value = ""
            await until(lambda: screen.shown_query == "" and not field.value, "an empty search")
            await pilot.pause()
            for n in range(1, len(surname) + 1):
                typed = surname[:n]
                painted.clear()
                searched.clear()
                wanted.update(screen=screen, text=typed)
                started = time.perf_counter()
                await pilot.press(typed[-1])
                try:
                    await asyncio.wait_for(painted.wait(), KEY_TIMEOUT)
                except TimeoutError:
                    unanswered += 1
                    continue
                latencies.append((wanted["at"] - started) * 1000)
                queries.append(searched.pop(typed, 0.0))
                table = screen.query_one("#results", PageTable)
                shown.append((typed, [int(str(key.value)) for key in table.rows]))
            wanted.clear()
        memory = _memory()
    engine.dispose()
    return {
        "latencies": latencies, "queries": queries, "shown": shown, "unanswered": unanswered,
        "rss_mb": memory["rss"], "peak_mb": max(memory["peak"], signed_in["peak"]),
        "peak_after_sign_in_mb": memory["peak"] if peak_reset else None,
        "debounce_ms": float(getattr(CustomerLookupScreen, "debounce_seconds", 0.0)) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.app_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="SQLAlchemy URL of a seeded database (demo staff included)")
    parser.add_argument("--names", type=int, default=200, help="surnames to type (default 200)")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        import asyncio

        os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
        report = asyncio.run(_probe(args.url, json.loads(sys.stdin.read())))
        print(json.dumps(report))
        return 0
    result = measure(args.url, args.names)
    print(f"{len(result.latencies)} keys over {result.names} surnames: p50 {result.p50:.1f} ms, "
          f"p95 {result.p95:.1f} ms, max {max(result.latencies, default=0):.1f} ms; debounce "
          f"{result.debounce_ms:.0f} ms; unanswered {result.unanswered}; stale {len(result.stale)}")
    print(f"of which the search call: p95 {result.query_p95:.1f} ms; the rest (debounce, UI thread, render): "
          f"p95 {result.app_p95:.1f} ms")
    after = "n/a" if result.peak_after_sign_in_mb is None else f"{result.peak_after_sign_in_mb:.0f} MB"
    print(f"resident {result.rss_mb:.0f} MB after the run; peak {result.peak_mb:.0f} MB "
          f"(from the first keystroke: {after})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
