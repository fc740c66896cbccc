"""A small Textual app for the driver's end-to-end tests: `python -m tests.wire.demo_app frugal|plain`.

Header, two form fields, a label with wide characters, a footer; F5 pushes a modal, F6 changes the label."""

from __future__ import annotations

import asyncio
import sys

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, Input, Label


class BusyInput(Input):
    """A field that takes a while over a tab, as a loaded app does: keys right behind it are at risk."""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "tab":
            await asyncio.sleep(0.1)
        await super()._on_key(event)


class Ask(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Back")]
    DEFAULT_CSS = "Ask { align: center middle; } Ask > Vertical { width: 40; height: 7; border: tall $accent; }"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Take this payment? 王小明 😀")
            yield Label("y / escape")


class Demo(App[None]):
    BINDINGS = [Binding("f5", "ask", "Modal"), Binding("f6", "change", "Change")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield BusyInput(placeholder="type here", id="field", compact=True)
        yield Input(placeholder="and here", id="second", compact=True)
        yield Label("Customer 王小明 · Wanjiru 😀 · ready", id="name")
        yield Footer()

    def on_mount(self) -> None:
        self.theme = "ansi-dark"
        self.animation_level = "none"
        for field in self.query(Input):
            field.cursor_blink = False

    def action_ask(self) -> None:
        self.push_screen(Ask())

    def action_change(self) -> None:
        self.query_one("#name", Label).update("Customer Ann · 李 · changed")


def main() -> None:
    driver = None
    if sys.argv[1:] == ["frugal"]:
        from astrofin_tui.frugal_driver import FrugalDriver

        driver = FrugalDriver
    Demo(driver_class=driver).run()


if __name__ == "__main__":
    main()
