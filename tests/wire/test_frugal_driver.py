"""The driver around the shadow screen: synchronized-output marks, resizes and the repaint request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Size

from astrofin_tui.frugal_driver import REPAINT_KEY, SYNC_END, SYNC_START, FrugalDriver


class Recorder:
    """A FrugalDriver whose terminal is a list of writes (Textual's own `write` replaced)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        monkeypatch.setattr(LinuxDriver, "write", lambda _self, data: self.sent.append(data))
        monkeypatch.setattr(LinuxDriver, "_get_terminal_size", lambda _self: (20, 5))
        monkeypatch.setattr(LinuxDriver, "process_message", lambda _self, message: None)

        async def make() -> FrugalDriver:
            return FrugalDriver(app=_FakeApp())  # type: ignore[arg-type]

        self.driver = asyncio.run(make())
        self.driver._get_terminal_size()
        self.driver.write("\x1b[?1049h")

    def frame(self, body: str) -> str:
        self.sent.clear()
        for part in (SYNC_START, body, SYNC_END):
            self.driver.write(part)
        return "".join(self.sent)


class _FakeApp:
    screen: Any = None


def test_a_frame_that_changes_nothing_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(monkeypatch)
    first = rec.frame("\x1b[1;1H\x1b[1mAstroFinance\x1b[0m\x1b[1;1H")
    assert first.startswith(SYNC_START) and first.endswith(SYNC_END) and "AstroFinance" in first
    assert rec.frame("\x1b[1;1H\x1b[1mAstroFinance\x1b[0m\x1b[1;1H") == ""


def test_a_resize_sends_the_next_frame_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(monkeypatch)
    frame = "\x1b[1;1H\x1b[1mAstroFinance\x1b[0m\x1b[1;1H"
    rec.frame(frame)
    rec.driver.process_message(events.Resize(Size(30, 6), Size(30, 6)))
    assert "AstroFinance" in rec.frame(frame)
    rec.driver._get_terminal_size()  # SIGWINCH
    assert "AstroFinance" in rec.frame(frame)
    assert rec.frame(frame) == ""


def test_the_repaint_key_clears_the_terminal_first(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(monkeypatch)
    frame = "\x1b[1;1H\x1b[1mAstroFinance\x1b[0m\x1b[1;1H"
    rec.frame(frame)
    rec.driver._loop = None  # type: ignore[assignment]  # no app loop to ask for the repaint here
    rec.driver.process_message(events.Key(REPAINT_KEY, None))
    out = rec.frame(frame)
    assert out.startswith(SYNC_START) and out.index("\x1b[H\x1b[2J") < out.index("AstroFinance")
