"""The branch a report covers: a compact list of the branches the person sees (indented by depth) and an
"and below" box. It knows nothing of the database: the screen fills it and listens for `BranchPicker.Changed`."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Label, Select

ALL_BRANCHES = "all my branches"


class BranchPicker(Horizontal):
    """Branch and "and below"; `choice` is (branch id or None for the whole scope, with the branches below)."""

    DEFAULT_CSS = """
    BranchPicker {
        height: 1;
        width: 1fr;
        Label { width: auto; margin: 0 1 0 0; color: $text-muted; }
        Select { width: 1fr; max-width: 36; }
        Checkbox { width: auto; margin-left: 1; }
    }
    """

    class Changed(Message):
        """The person chose another branch, or ticked or cleared "and below"."""

        def __init__(self, picker: BranchPicker, branch_id: int | None, with_children: bool) -> None:
            super().__init__()
            self.picker = picker
            self.branch_id = branch_id
            self.with_children = with_children

        @property
        def control(self) -> BranchPicker:
            return self.picker

    def __init__(self, branch_id: int | None = None, with_children: bool = True, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._announced = (branch_id, with_children)
        self._initial = (branch_id, with_children)

    def compose(self) -> ComposeResult:
        yield Label("Branch")
        yield Select([], prompt=ALL_BRANCHES, compact=True, id="branch-choice")
        yield Checkbox("and below", self._initial[1], compact=True, id="branch-below")

    @property
    def choice(self) -> tuple[int | None, bool]:
        value = self.query_one("#branch-choice", Select).value
        below = self.query_one("#branch-below", Checkbox).value
        return (value if isinstance(value, int) else None, below)

    def set_branches(self, branches: Iterable[tuple[str, int]]) -> None:
        """The branches to choose from, (label, id) in the order shown; keeps the branch chosen when listed."""
        select = self.query_one("#branch-choice", Select)
        options = list(branches)
        chosen = self._announced[0]
        select.set_options(options)
        if chosen is not None and any(branch_id == chosen for _label, branch_id in options):
            select.value = chosen

    @on(Select.Changed, "#branch-choice")
    @on(Checkbox.Changed, "#branch-below")
    def _changed(self, event: Message) -> None:
        event.stop()
        choice = self.choice
        if choice != self._announced:
            self._announced = choice
            self.post_message(self.Changed(self, *choice))
