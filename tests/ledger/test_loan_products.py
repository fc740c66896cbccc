"""Loan products in the database: ranges refused whoever writes the loan, retired products, the fee posting."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

from tests.ledger.helpers import TODAY, Staff, make_customer, pay, postings, refused, scalar


def make_product(conn: Connection, **values: Any) -> int:
    row = {"code": "biz-weekly", "name": "Business loan", "interest_method": "flat",
           "repayment_frequency": "weekly", "principal_min": Decimal("5000"), "principal_max": Decimal("50000"),
           "rate_min": Decimal("18"), "rate_max": Decimal("30"), "term_min": 8, "term_max": 26,
           "fee_percent": Decimal("2"), "fee_flat": Decimal("100")} | values
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    return scalar(conn, f"INSERT INTO loan_products ({names}) VALUES ({marks}) RETURNING id", **row)  # noqa: S608


INSERT_LOAN = ("INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
               "repayment_frequency, product_id, application_date, loan_officer_id, created_by) "
               "VALUES (:c, :p, :r, :m, :t, :f, :product, :a, :o, :o) RETURNING id")


def loan_params(customer: int, product: int, staff: Staff, **values: Any) -> dict[str, Any]:
    return {"c": customer, "p": Decimal("10000"), "r": Decimal("24"), "m": "flat", "t": 12, "f": "weekly",
            "product": product, "a": TODAY - timedelta(days=30), "o": staff.officer} | values


def test_the_database_holds_loans_to_their_product(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        product = make_product(conn)
        assert scalar(conn, "SELECT code FROM loan_products WHERE id = :i", i=product) == "BIZ-WEEKLY"
        customer = make_customer(conn, staff)
    cases = [({"p": Decimal("4999.99")}, "principal", "the principal for BIZ-WEEKLY is 5,000.00 to 50,000.00"),
             ({"p": Decimal("50000.01")}, "principal", "5,000.00 to 50,000.00"),
             ({"r": Decimal("30.5")}, "interest_rate", "the rate for BIZ-WEEKLY is 18 to 30 %"),
             ({"t": 27}, "term", "the number of installments for BIZ-WEEKLY is 8 to 26"),
             ({"m": "declining_balance"}, "interest_method", "BIZ-WEEKLY lends at flat interest only"),
             ({"f": "monthly"}, "repayment_frequency", "BIZ-WEEKLY is repaid weekly only")]
    # As the superuser, and as a loan officer's session (SET ROLE and the signed-in user, as the app does).
    for as_officer in (False, True):
        for values, column, message in cases:
            with engine.begin() as conn:
                if as_officer:
                    conn.execute(text("SET LOCAL ROLE astrofin_loan_officer"))
                    conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(staff.officer)})
                with refused("P0109", message) as info:
                    conn.execute(text(INSERT_LOAN), loan_params(customer, product, staff, **values))
                assert info.value.orig.diag.column_name == column  # type: ignore[union-attr]
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL ROLE astrofin_loan_officer"))
        conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(staff.officer)})
        inside = scalar(conn, INSERT_LOAN, **loan_params(customer, product, staff))
        # The fee is the database's: 2 % of 10,000 + 100, whatever the client sent.
        assert scalar(conn, "SELECT fee_amount FROM loans WHERE id = :i", i=inside) == Decimal("300.00")
        assert scalar(conn, "SELECT loan_product_fee(:p, 10000)", p=product) == Decimal("300.00")
        # Nobody but an admin keeps the catalogue.
        with refused("42501"):
            conn.execute(text("UPDATE loan_products SET is_active = false"))
    with engine.begin() as conn:  # a loan without a product keeps the rules it had
        plain = scalar(conn, INSERT_LOAN, **loan_params(customer, None, staff, p=Decimal("100"), t=300))  # type: ignore[arg-type]
        assert scalar(conn, "SELECT fee_amount FROM loans WHERE id = :i", i=plain) == 0


def test_a_retired_product_takes_no_application_and_its_loans_go_on(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        product = make_product(conn, fee_percent=Decimal("0"), fee_flat=Decimal("0"))
        customer = make_customer(conn, staff)
        approved = scalar(conn, INSERT_LOAN, **loan_params(customer, product, staff))
        pending = scalar(conn, INSERT_LOAN, **loan_params(customer, product, staff))
        conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": approved, "s": staff.supervisor})
        conn.execute(text("UPDATE loan_products SET is_active = false WHERE id = :p"), {"p": product})
    with engine.begin() as conn, refused("P0109", "the product BIZ-WEEKLY is retired and takes no new applications"):
        conn.execute(text(INSERT_LOAN), loan_params(customer, product, staff))
    with engine.begin() as conn:
        conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": pending, "s": staff.supervisor})
        conn.execute(text("SELECT disburse_loan(:l, :c, :d)"),
                     {"l": approved, "c": staff.cashier, "d": TODAY - timedelta(days=20)})
        pay(conn, staff, approved, "500.00", when=TODAY - timedelta(days=1))
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=approved) == "active"
        assert scalar(conn, "SELECT status FROM loans WHERE id = :l", l=pending) == "approved"
        # Method and frequency are fixed once loans use the product; the ranges may still change.
        with refused("P0107", "its method and frequency stay as they are"), conn.begin_nested():
            conn.execute(text("UPDATE loan_products SET repayment_frequency = 'monthly' WHERE id = :p"),
                         {"p": product})
        conn.execute(text("UPDATE loan_products SET principal_max = 80000 WHERE id = :p"), {"p": product})


def test_the_processing_fee_is_collected_at_disbursement(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        product = make_product(conn)
        customer = make_customer(conn, staff)
        loan = scalar(conn, INSERT_LOAN, **loan_params(customer, product, staff))
        # A later edit of the product changes no applied loan.
        conn.execute(text("UPDATE loan_products SET fee_flat = 900 WHERE id = :p"), {"p": product})
        conn.execute(text("SELECT approve_loan(:l, :s)"), {"l": loan, "s": staff.supervisor})
        txn = scalar(conn, "SELECT disburse_loan(:l, :c, :d)", l=loan, c=staff.cashier, d=TODAY - timedelta(days=3))
        assert scalar(conn, "SELECT fee_amount FROM transactions WHERE id = :t", t=txn) == Decimal("300.00")
        assert postings(conn, txn) == [("1200", Decimal("10000.00"), Decimal("0.00")),
                                       ("1000", Decimal("0.00"), Decimal("9700.00")),
                                       ("4100", Decimal("0.00"), Decimal("300.00"))]
        assert scalar(conn, "SELECT sum(debit - credit) FROM journal_entry_details") == 0
        # The schedule is on the whole principal: the fee is not lent.
        assert scalar(conn, "SELECT sum(principal_due) FROM payment_schedules WHERE loan_id = :l", l=loan) == 10000
        # Definitions a person must put right, each beside its field.
        for values, column in [({"code": "x"}, "code"), ({"code": "BIZ-WEEKLY"}, "code"),
                               ({"name": "bad\x1bname"}, "name"),
                               ({"principal_min": Decimal("60000")}, "principal_min"),
                               ({"rate_default": Decimal("40")}, "rate_default"),
                               ({"term_default": 2}, "term_default"),
                               ({"fee_flat": Decimal("5000")}, "fee_flat"),
                               ({"fee_percent": Decimal("-1")}, "fee_percent")]:
            with refused("P0107") as info, conn.begin_nested():
                make_product(conn, **({"code": "OTHER"} | values))
            assert info.value.orig.diag.column_name == column, values  # type: ignore[union-attr]
        # A fee that would take the whole principal of a product without a lower limit.
        open_ended = make_product(conn, code="OPEN", principal_min=None, fee_percent=0, fee_flat=Decimal("200"))
        with refused("P0109", "would take the whole principal"), conn.begin_nested():
            conn.execute(text(INSERT_LOAN), loan_params(customer, open_ended, staff, p=Decimal("200")))
