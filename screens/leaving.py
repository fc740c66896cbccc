"""A form that asks before what was typed is thrown away: escape (back), ctrl+o (sign out) and ctrl+q (quit)
with unsaved changes open the one confirmation dialog, which names what would be lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from screens.confirm import ConfirmScreen
from screens.data import DataScreen

LEAVE_TITLE = "Leave without saving?"
LEAVE_QUESTION = "Throw it away and leave?"


class FormScreen(DataScreen):
    """A DataScreen holding a form; subclasses say what is unsaved in `unsaved_changes`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+o", "leave_then('sign_out')", "Sign out")]

    def unsaved_changes(self) -> list[str]:
        """What leaving now would throw away, one line each ("" for none); the confirmation lists them."""
        return []

    def confirm_leave(self, then: Callable[[], Any]) -> None:
        """Run `then` at once when nothing is unsaved; otherwise only after the person says yes."""
        lost = self.unsaved_changes()
        if not lost:
            then()
            return
        if isinstance(self.app.screen, ConfirmScreen):
            return

        def answer(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(ConfirmScreen(LEAVE_TITLE, ["Not saved yet:", *lost], question=LEAVE_QUESTION), answer)

    def action_back(self) -> None:
        self.confirm_leave(self.dismiss)

    def action_leave_then(self, action: str) -> None:
        """An app action that leaves the form (sign out), asked first when something is unsaved."""
        self.confirm_leave(lambda: self.app.call_later(self.app.run_action, action))
