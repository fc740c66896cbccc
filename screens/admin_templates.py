"""Administration, SMS templates: edit a template with its placeholders checked as you type, and see the
message as a customer would receive it, with its length and SMS parts."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from db.errors import ValidationError
from db.repositories.sms_templates import (
    SmsTemplate,
    SmsTemplateRepository,
    known_placeholders,
    preview,
    template_problem,
)
from screens.back_office import refusal
from screens.context import ScreenContext
from screens.data import ASK, DatabaseCalls, run_in
from widgets.status import StatusLine
from widgets.words import in_words


class TemplatesPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "save", "Save template")]

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = context
        self.templates: list[SmsTemplate] = []
        self.current: SmsTemplate | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="template-top"):
            yield OptionList(id="template-list", compact=True)
            with Vertical(id="template-about"):
                yield StatusLine("Loading templates…", id="template-status", classes="status")
                yield Static("", id="template-known")
        yield TextArea(id="template-text", soft_wrap=True, compact=True, show_line_numbers=False)
        with Horizontal(id="template-row"):
            yield Checkbox("Active (used when sending)", id="template-active", compact=True)
            yield StatusLine("", id="template-error", classes="field-error")
        yield Static("", id="template-preview")

    def on_mount(self) -> None:
        self.query_one("#template-preview", Static).border_title = "Preview: as the customer receives it"
        self.load()

    @property
    def repo(self) -> SmsTemplateRepository:
        return SmsTemplateRepository(self.ctx.engine, self.ctx.actor)

    def load(self, select_id: int | None = None) -> None:
        repo = self.repo
        run_in(self, "templates", repo.list, lambda found: self._show(found, select_id), self._failed, working=None)

    def _line(self, name: str = "status") -> StatusLine:
        return self.query_one(f"#template-{name}", StatusLine)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, ValidationError) and "template_text" in error.fields:
            self._line("error").say(error.fields["template_text"], kind="error")
            self._line().say("Not saved.", kind="error")
        else:
            self._line().say(refusal(error), kind="error")

    def _show(self, templates: list[SmsTemplate], select_id: int | None) -> None:
        self.templates = templates
        options = self.query_one("#template-list", OptionList)
        options.clear_options()
        options.add_options([Option(f"{escape(t.name)}{'' if t.is_active else ' (off)'}", id=str(t.id))
                             for t in templates])
        if not templates:
            self._line().say("There are no SMS templates.")
            return
        index = next((i for i, t in enumerate(templates) if t.id == select_id), 0)
        options.highlighted = index
        self._edit(templates[index])

    @on(OptionList.OptionHighlighted, "#template-list")
    def _picked(self, event: OptionList.OptionHighlighted) -> None:
        chosen = next((t for t in self.templates if str(t.id) == event.option.id), None)
        if chosen is not None and chosen is not self.current:
            self._edit(chosen)

    def _edit(self, template: SmsTemplate) -> None:
        self.current = template
        self._line().say(f"{template.name} · when: {in_words(template.event_type).lower()}"
                         f"{'' if template.is_active else ' · off'}")
        known = ", ".join("{" + name + "}" for name in known_placeholders(template.event_type))
        self.query_one("#template-known", Static).update(escape(f"Placeholders: {known}"))
        self.query_one("#template-active", Checkbox).value = template.is_active
        self.query_one("#template-text", TextArea).load_text(template.template_text)
        self._check()

    @on(TextArea.Changed, "#template-text")
    def _typed(self) -> None:
        self._check()

    def _check(self) -> bool:
        """Check and preview what is in the editor (no database needed); True when it may be saved."""
        if self.current is None:
            return False
        body = self.query_one("#template-text", TextArea).text
        error = self._line("error")
        shown = self.query_one("#template-preview", Static)
        problem = template_problem(self.current.event_type, body)
        if problem:
            error.say(problem, kind="error")
            shown.update("[dim](no preview until the template can be filled)[/dim]")
            return False
        error.clear()
        seen = preview(self.current.event_type, body, self.ctx.currency)
        shown.update(f"{escape(seen.text)}\n[dim]{escape(seen.info.describe())}[/dim]")
        return True

    def action_save(self) -> None:
        if self.current is None or self.saving:
            return
        if not self._check():
            self._line().say("Not saved: see the reason below the text.", kind="error")
            return
        template = self.current
        body = self.query_one("#template-text", TextArea).text
        active = self.query_one("#template-active", Checkbox).value
        repo = self.repo
        self._line().say("Saving the template…")
        # What was typed stays in the editor; after a lost connection the person saves again.
        run_in(self, "templates-write", lambda: repo.update(template.id, body, active), self._saved, self._failed,
               retry=ASK, working=None)

    @property
    def saving(self) -> bool:
        """A save is under way, or waits for the person to save again once the database is back."""
        screen = self.screen
        return isinstance(screen, DatabaseCalls) and screen.busy("templates-write")

    def _saved(self, template: SmsTemplate) -> None:
        self.app.notify(escape(f"Template {template.name} saved."))
        self.current = None
        self.load(template.id)
