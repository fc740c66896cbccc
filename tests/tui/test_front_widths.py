"""At 80×24 the schedules show whole rows: every column of the preview and of a loan's schedule fits the
table's width (no horizontal scrolling, nothing cut mid-number)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from rich.cells import cell_len
from sqlalchemy import Engine
from textual.widgets import Input

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.repositories.payments import PaymentRepository
from db.validation import CustomerInput
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import front_app, make_late_loan, press, sign_in, type_into
from widgets.tables import ScheduleTable


def _fits(table: ScheduleTable) -> bool:
    return table.virtual_size.width <= table.scrollable_content_region.width


def test_the_preview_and_a_loan_schedule_fit_80_columns(app_engine: Engine, engine: Engine, access_log: Path,
                                                        actors: dict[str, Actor]) -> None:
    late = make_late_loan(engine, actors, "Achieng", "Atieno", days_late=40, principal="350000.00")
    PaymentRepository(engine, actors["cashier"]).record(late.id, Decimal("30000.00"), TODAY - timedelta(days=1),
                                                        "widths-1")
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Mutua", last_name="Musyoka"), today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            form = app.screen
            assert isinstance(form, LoanApplicationScreen)
            await type_into(pilot, "#customer", customer.customer_number)
            await press(pilot, "enter")
            await type_into(pilot, "#principal", "1,250,000")
            preview = form.query_one("#schedule", ScheduleTable)
            assert preview.row_count == 12 and len(preview.columns) == 6
            assert _fits(preview), (preview.virtual_size, preview.scrollable_content_region)

            await sign_in(pilot, actors["supervisor"])
            await press(pilot, "f7", *late.loan_number, "enter")
            detail = app.screen
            assert isinstance(detail, LoanDetailScreen) and detail.loan is not None
            schedule = detail.query_one("#schedule", ScheduleTable)
            assert _fits(schedule), (schedule.virtual_size, schedule.scrollable_content_region)
            assert "Overdue" in [str(cell) for cell in schedule.get_row_at(0)]

    run(scenario())


def test_every_placeholder_fits_its_field_at_80_columns(app_engine: Engine, access_log: Path,
                                                         actors: dict[str, Actor]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["supervisor"])
            for key in ("f2", "f3", "f5", "f6", "f7"):
                await press(pilot, key)
                for field in app.screen.query(Input):
                    if field.placeholder and field.display:
                        room = field.content_region.width
                        assert cell_len(field.placeholder) <= room, (key, field.id, field.placeholder, room)
                await press(pilot, "escape")

    run(scenario())
