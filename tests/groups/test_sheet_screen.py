"""The collection sheet screen as an officer and a cashier drive it: a thirty-member meeting with full, partial,
zero and overpaying rows, attendance, totals, posting once however often it is asked, the receipt and its
reprint, and the loans' schedules and the books after; bad input in every cell and field shows a message where it
was typed and writes nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, Static

from astrofin_tui.app import AstrofinApp
from db.repositories.groups import CollectionSheetRepository, SheetEntry
from db.repositories.payments import PaymentRepository, new_idempotency_key
from screens.collection_sheet import AmountInput, CollectionSheetScreen, SheetRow
from screens.confirm import ConfirmScreen
from screens.sheet_receipt import SheetReceiptScreen
from tests.groups.book import GroupBranch
from tests.groups.sheet_book import DUE, MEETING, build_meeting
from tests.reliability.faultlib import ledger_problems
from tests.tui.conftest import settle


def sheet_app(app_engine: Engine, tmp_path: Path) -> AstrofinApp:
    return AstrofinApp(app_engine, today=lambda: MEETING, theme="textual-dark", quiet_cursor=True,
                       access_log=tmp_path / "access.log")


def written(owner: Engine) -> tuple[Any, ...]:
    """What a posting writes: sheets, lines, repayments, journal entries, what the schedules were paid."""
    with owner.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM collection_sheets), (SELECT count(*) FROM collection_sheet_lines), "
            "(SELECT count(*) FROM transactions WHERE transaction_type = 'repayment'), "
            "(SELECT count(*) FROM journal_entries), (SELECT coalesce(sum(total_paid), 0) FROM payment_schedules)"
        )).one())


async def open_sheet(pilot: Pilot[Any], branch: GroupBranch, who: str, query: str = "Upendo") -> CollectionSheetScreen:
    """Signed in, ctrl+g from home, the group found by name, its next meeting's sheet on screen."""
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    await app.sign_in_as(branch.staff[who])
    await settle(pilot)
    await pilot.press("ctrl+g")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, CollectionSheetScreen)
    await pilot.press(*query, "enter")
    await settle(pilot)
    assert not screen.query_one("#choices").display  # the list of groups found goes once one is picked
    return screen


def row(screen: CollectionSheetScreen, index: int) -> SheetRow:
    return screen.query_one(f"#row-{screen.order[index]}", SheetRow)


def row_message(screen: CollectionSheetScreen, index: int) -> str:
    return str(row(screen, index).query_one(".row-error", Static).content)


def focused_index(screen: CollectionSheetScreen) -> int:
    focused = screen.focused
    assert isinstance(focused, AmountInput), focused
    return screen.order.index(focused.loan_id)


async def type_amount(pilot: Pilot[Any], screen: CollectionSheetScreen, index: int, amount: str) -> None:
    """Go to the row (up/down), type over the prefilled amount, enter."""
    while focused_index(screen) != index:
        await pilot.press("down" if focused_index(screen) < index else "up")
    cell = row(screen, index).query_one(AmountInput)
    cell.value = ""
    await pilot.press(*amount, "enter")
    await settle(pilot)


def plain(widget: Any) -> str:
    """What a Static shows, without its markup."""
    return Content.from_markup(str(widget.content)).plain


def totals(screen: CollectionSheetScreen) -> str:
    return plain(screen.query_one("#totals", Static))


def test_a_meeting_of_thirty_posted_once_with_its_receipts(engine: Engine, app_engine: Engine,
                                                           tmp_path: Path) -> None:
    branch = build_meeting(engine, app_engine)
    nothing = written(engine)
    order: list[int] = []

    async def scenario() -> None:
        app = sheet_app(app_engine, tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_sheet(pilot, branch, "cashier")
            order.extend(screen.order)
            assert len(screen.order) == 30 and screen.sheet is not None and screen.sheet.meeting_date == MEETING
            assert screen.query_one("#meeting_date", Input).value == "10/03/2025"  # the next meeting: today's
            first = screen.rows[screen.order[0]].line
            assert (first.due, first.arrears, first.max_payable) == (DUE, Decimal("3000.00"), DUE)
            assert "Total KES 120,000.00 of 120,000.00 · 30 paid · 0 absent" in totals(screen)
            assert focused_index(screen) == 0
            # Row 0 paid in full (ctrl+f moves on), row 1 absent (ctrl+n), row 2 a part, row 3 attended and
            # paid nothing, row 4 paid but absent (a neighbour brought it), row 5 more than the loan owes.
            await pilot.press("ctrl+f")
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert focused_index(screen) == 2
            await type_amount(pilot, screen, 2, "1,250.50")
            await type_amount(pilot, screen, 3, "0")
            await type_amount(pilot, screen, 4, "2000")
            await pilot.press("up", "ctrl+r")
            await type_amount(pilot, screen, 5, "4000.01")
            fifth = screen.rows[screen.order[5]].line.loan_number
            assert row_message(screen, 5) == f"{fifth} owes only 4,000.00 in all"
            assert row(screen, 5).has_class("-invalid") and not row(screen, 4).has_class("-invalid")
            assert [screen.rows[i].attended for i in screen.order[:6]] == [True, False, True, True, False, True]
            assert str(row(screen, 1).query_one(".c-here").content) == "no"
            # 4,000 + 0 + 1,250.50 + 0 + 2,000 + (row 5 wrong: 0) + 24 × 4,000
            assert "Total KES 103,250.50 of 120,000.00 · 27 paid · 2 absent · 1 row to fix" in totals(screen)
            assert "paid 103,250.50 of 120,000.00 · 28 of 30 here" in plain(
                screen.query_one(f"#group-{branch.group}", Static))
            # Posting is blocked until the row is fixed: no dialog, the cursor on the row, nothing written.
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen) and focused_index(screen) == 5
            assert "Fix the 1 row marked in red first" in screen.status.text
            await type_amount(pilot, screen, 5, "4000")
            assert row_message(screen, 5) == "" and "to fix" not in totals(screen)
            # Meanwhile a member of row 6 paid 100.00 at the counter: the sheet's 4,000.00 is now more than the
            # loan owes. The database refuses that row, on its row, and writes nothing of the sheet.
            counter = PaymentRepository(app_engine, branch.staff["cashier2"])
            counter.record(screen.order[6], Decimal("100.00"), MEETING, new_idempotency_key(), method="bank",
                           reference="BNK-1")
            before = written(engine)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            body = plain(app.screen.query_one("#dialog-body", Static))
            assert "Collected     KES 107,250.50 of 120,000.00 due" in body
            assert "Members paid  28 of 30" in body and "Absent        2" in body
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen and "more than the loan owes (3,900.00)" in row_message(screen, 6)
            assert "Nothing was posted" in screen.status.text and written(engine) == before
            key = screen.idempotency_key
            await type_amount(pilot, screen, 6, "3,900")
            # Double enter on the confirmation, ctrl+s again while posting: one sheet.
            await pilot.press("ctrl+s")
            await settle(pilot)
            await pilot.press("enter", "enter")
            screen.action_post()
            await settle(pilot)
            receipt_screen = app.screen
            assert isinstance(receipt_screen, SheetReceiptScreen), app.screen
            assert screen.idempotency_key == key  # one key for the sheet, kept across the refused try
            receipt = receipt_screen.receipt
            assert receipt is not None and receipt.total == Decimal("107150.50")
            shown = plain(receipt_screen.query_one("#receipt", Static))
            assert "Group total" in shown and "KSM01-R-" in shown and "Officer KSM01" in shown
            assert len([line for group in receipt.groups for line in group.lines if line.receipt_number]) == 28
            # The same sheet again, as a retry after a dropped connection would send it: the first sheet.
            repo = CollectionSheetRepository(app_engine, branch.staff["cashier"])
            again = repo.post(branch.group, MEETING, [SheetEntry(i, Decimal("1.00"), True) for i in screen.order], key)
            assert again == receipt.sheet_id
            # Back: the sheet is read-only now; p reprints. Opened again from home: read-only too.
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen and screen.posted is not None and not screen.query(AmountInput)
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, SheetReceiptScreen)
            await pilot.press("escape", "escape")
            await settle(pilot)
            await pilot.press("ctrl+g")
            await settle(pilot)
            reopened = app.screen
            assert isinstance(reopened, CollectionSheetScreen) and reopened is not screen
            await pilot.press(*"G-1", "enter")
            await settle(pilot)
            assert reopened.posted is not None and reopened.posted.sheet_id == receipt.sheet_id
            assert "Posted" in totals(reopened) and "p reprints" in reopened.status.text

    asyncio.run(scenario())
    after = written(engine)
    assert after[0] - nothing[0] == 1 and after[1] - nothing[1] == 30
    with engine.connect() as conn:
        sheet = conn.execute(text("SELECT id, total FROM collection_sheets")).one()
        assert sheet.total == Decimal("107150.50")
        lines = conn.execute(text(
            "SELECT l.loan_id, l.amount, l.attended, t.id AS txn, t.amount AS paid, "
            "(SELECT count(*) FROM journal_entries e WHERE e.transaction_id = t.id) AS entries "
            "FROM collection_sheet_lines l LEFT JOIN transactions t ON t.id = l.transaction_id "
            "WHERE l.sheet_id = :s"), {"s": sheet.id}).all()
        by_loan = {r.loan_id: r for r in lines}
        schedules = {loan: [(r.total_paid, r.status) for r in conn.execute(text(
            "SELECT total_paid, status FROM payment_schedules WHERE loan_id = :l ORDER BY installment_number"),
            {"l": loan})] for loan in branch.loans}
    # One repayment (and its journal entry) per paid line; none for a line that paid nothing.
    assert sum(1 for r in lines if r.txn is not None) == 28
    assert all((r.txn is not None) == (r.amount > 0) and (r.paid or Decimal(0)) == r.amount
               and r.entries == (1 if r.txn else 0) for r in lines)
    full, absent, part, zero, neighbour = (by_loan[loan] for loan in order[:5])
    assert (full.amount, full.attended, absent.amount, absent.attended) == (DUE, True, Decimal("0.00"), False)
    assert (part.amount, zero.amount, zero.attended, neighbour.amount, neighbour.attended) == (
        Decimal("1250.50"), Decimal("0.00"), True, Decimal("2000.00"), False)
    paid = Decimal("1000.00")
    assert schedules[full.loan_id] == [(paid, "paid")] * 4
    assert schedules[absent.loan_id] == [(Decimal("0.00"), "pending")] * 4
    assert schedules[part.loan_id] == [(paid, "paid"), (Decimal("250.50"), "partial"),
                                       (Decimal("0.00"), "pending"), (Decimal("0.00"), "pending")]
    assert schedules[neighbour.loan_id] == [(paid, "paid"), (paid, "paid"), (Decimal("0.00"), "pending"),
                                            (Decimal("0.00"), "pending")]
    assert ledger_problems(engine) == []



def test_bad_input_in_every_cell_shows_where_it_was_typed_and_writes_nothing(engine: Engine, app_engine: Engine,
                                                                              tmp_path: Path) -> None:
    branch = build_meeting(engine, app_engine, members=4)
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT count(*) FROM audit_logs")).scalar_one()
    nothing = written(engine)

    async def scenario() -> None:
        app = sheet_app(app_engine, tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_sheet(pilot, branch, "cashier", query="nobody here")
            error = screen.query_one("#pick-error", Static)
            assert screen.sheet is None and "no active group or center of yours matches" in plain(error)
            find = screen.query_one("#find", Input)
            find.value = ""
            find.focus()
            await pilot.press(*"G-1", "enter")
            await settle(pilot)
            assert screen.sheet is not None and len(screen.order) == 4 and not error.display
            number = screen.rows[screen.order[0]].line.loan_number
            cases = [("12a", "use digits, an optional decimal point and commas between thousands"),
                     ("-5", "the amount cannot be negative"),
                     ("10.005", "an amount has at most two decimals (cents)"),
                     ("9999999999999", "the amount is larger than 999,999,999,999.99"),
                     ("4000.01", f"{number} owes only 4,000.00 in all"),
                     ("", "enter what was paid (0 if nothing)")]
            for typed, message in cases:
                await type_amount(pilot, screen, 0, typed)
                assert message in row_message(screen, 0), (typed, row_message(screen, 0))
                assert row(screen, 0).has_class("-invalid") and "1 row to fix" in totals(screen)
                await pilot.press("ctrl+s")
                await settle(pilot)
                assert not isinstance(app.screen, ConfirmScreen) and focused_index(screen) == 0
                assert "Fix the 1 row marked in red first: nothing was posted." in screen.status.text
            await type_amount(pilot, screen, 0, "4,000")
            assert row_message(screen, 0) == "" and not row(screen, 0).has_class("-invalid")
            # The meeting field: a malformed day, a day that does not exist, a day that is no meeting day.
            day = screen.query_one("#meeting_date", Input)
            for typed, message in [("abc", "write the date as 06/12/2026"),
                                   ("31/02/2025", "there is no such day as 31/02/2025")]:
                day.value = ""
                day.focus()
                await pilot.press(*typed, "enter")
                await settle(pilot)
                assert message in plain(error) and error.display and screen.sheet.meeting_date == MEETING
            screen.rows[screen.order[0]].amount = screen.rows[screen.order[0]].line.due  # nothing typed to lose
            day.value = ""
            await pilot.press(*"11/03/2025", "enter")
            await settle(pilot)
            assert screen.sheet.meeting_date.day == 11 and "is not a meeting day of G-000001" in plain(error)
            assert "the next is 17 Mar 2025" in plain(error)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            assert "11 Mar 2025 is not a meeting day" in screen.status.text
            # A loan officer posts from the field into a till session of their own: with none open, the database
            # refuses the sheet before writing anything, and the screen says so.
            await app.action_sign_out()
            await settle(pilot)
            officer = await open_sheet(pilot, branch, "officer")
            assert officer.sheet is not None and officer.sheet.meeting_date == MEETING
            await pilot.press("ctrl+s")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is officer and officer.posted is None
            assert officer.status.has_class("-error") and "till" in officer.status.text, officer.status.text

    asyncio.run(scenario())
    assert written(engine) == nothing
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_logs")).scalar_one() == audit
