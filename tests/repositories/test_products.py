"""Loan products through the repositories: the admin's catalogue, applications held to it, the fee on the receipt."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor
from db.errors import Refused, ValidationError
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.repositories.payments import PaymentRepository
from db.repositories.products import ProductForm, ProductRepository
from db.validation import CustomerInput
from screens.output import receipt_text

BIZ = ProductForm(code="biz-weekly", name="Business loan [b]weekly[/b]", interest_method="flat",
                  repayment_frequency="weekly", principal_min="5,000", principal_max="50000", rate_min="18",
                  rate_max="30", rate_default="24", term_min="8", term_max="26", term_default="12",
                  fee_percent="2", fee_flat="100")


def refused_on(field: str, call: object, *args: object) -> str:
    with pytest.raises(ValidationError) as info:
        call(*args)  # type: ignore[operator]
    assert field in info.value.fields, info.value.fields
    return info.value.fields[field]


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_bad_product_input_is_refused_beside_its_field(engine: Engine, actors: dict[str, Actor]) -> None:
    repo = ProductRepository(engine, actors["admin"])
    cases = {
        "code": ["x", "", "'; DROP TABLE loans;--", "[b]X[/b]", "A" * 21],
        "name": ["", " ", "bad\x1bname", "n" * 101],
        "principal_min": ["60000", "-5", "0", "1e20", "abc", "100000000000000000000", "1.005"],
        "principal_max": ["-1", "0"],
        "rate_min": ["31", "-1"],
        "rate_default": ["40", "1001", "17.99"],
        "rate_max": ["1e3", "5000"],
        "term_min": ["27", "0", "1.5", "abc"],
        "term_default": ["30", "7"],
        "term_max": ["521", "-3"],
        "fee_flat": ["5000", "-1", "1e20"],
        "fee_percent": ["100", "-2", "x"],
        "interest_method": ["compound"],
        "repayment_frequency": ["daily"],
    }
    for field, values in cases.items():
        for value in values:
            form = ProductForm(**(vars(BIZ) | {field: value}))
            message = refused_on(field, repo.create, form)
            assert "Traceback" not in message and message, (field, value)
    assert "60,000.00" not in refused_on("fee_flat", repo.create, ProductForm(**(vars(BIZ) | {"fee_flat": "5000"})))
    assert count(engine, "SELECT count(*) FROM loan_products") == 0
    # Markup and SQL fragments in a name are stored as typed, harmlessly.
    odd = repo.create(ProductForm(**(vars(BIZ) | {"name": "'; DROP TABLE loans;--"})))
    assert odd.name == "'; DROP TABLE loans;--" and odd.code == "BIZ-WEEKLY"
    assert refused_on("code", repo.create, BIZ) == "another product already has the code BIZ-WEEKLY"
    # Only an admin keeps the catalogue.
    with pytest.raises(Refused):
        ProductRepository(engine, actors["supervisor"]).create(ProductForm(**(vars(BIZ) | {"code": "OTHER"})))


def test_an_application_starts_from_a_product(engine: Engine, actors: dict[str, Actor]) -> None:
    admin = ProductRepository(engine, actors["admin"])
    product = admin.create(BIZ)
    assert product.code == "BIZ-WEEKLY" and product.name == "Business loan [b]weekly[/b]"
    assert product.hint == "5,000.00–50,000.00 · 18–30 % · 8–26 weeks · fee 2 % + 100.00"
    assert [p.code for p in ProductRepository(engine, actors["officer"]).list(active_only=True)] == ["BIZ-WEEKLY"]
    today = date.today()
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Wanjiku", last_name="Kamau"), today=today)
    loans = LoanRepository(engine, actors["officer"])

    def apply(application: LoanApplication) -> object:
        return loans.apply(application, today=today)

    def terms(**changes: object) -> LoanTerms:
        values = {"principal": Decimal("10000.00"), "interest_rate": Decimal("24"), "interest_method": "flat",
                  "term": 12, "repayment_frequency": "weekly", "product_id": product.id} | changes
        return LoanTerms(**values)  # type: ignore[arg-type]

    preview = loans.preview(terms(), today + timedelta(days=7))
    assert (preview.fee, preview.paid_out, len(preview.rows)) == (Decimal("300.00"), Decimal("9700.00"), 12)
    assert refused_on("term", loans.preview, terms(term=27), today) == \
        "the number of installments for BIZ-WEEKLY is 8 to 26"
    assert refused_on("principal", apply, LoanApplication(customer.id, terms(principal=Decimal("4000")))) == \
        "the principal for BIZ-WEEKLY is 5,000.00 to 50,000.00"
    assert refused_on("repayment_frequency", loans.preview, terms(repayment_frequency="monthly"), today) == \
        "BIZ-WEEKLY is repaid weekly only"
    loan = loans.apply(LoanApplication(customer.id, terms()), today=today)
    assert (loan.product_code, loan.fee_amount) == ("BIZ-WEEKLY", Decimal("300.00"))

    # The admin edits the ranges and the fee; the applied loan keeps its fee. Method and frequency stay.
    edited = admin.update(product.id, ProductForm(**(vars(BIZ) | {"principal_max": "80000", "fee_flat": "0"})))
    assert edited.principal_max == Decimal("80000.00") and edited.fee_flat == 0
    assert refused_on("repayment_frequency", admin.update, product.id,
                      ProductForm(**(vars(BIZ) | {"repayment_frequency": "monthly"}))).startswith("loans were made")
    assert refused_on("principal_min", admin.update, product.id,
                      ProductForm(**(vars(BIZ) | {"principal_min": "90000"}))).startswith("the smallest principal")
    admin.retire(product.id)
    assert ProductRepository(engine, actors["officer"]).list(active_only=True) == []
    assert refused_on("product", apply, LoanApplication(customer.id, terms())) == \
        "the product BIZ-WEEKLY is retired and takes no new applications"

    # Its loan goes on: approved, disbursed with the fee it was given, on a receipt that shows it.
    LoanRepository(engine, actors["supervisor"]).approve(loan.id)
    paid = LoanRepository(engine, actors["cashier"]).disburse(loan.id, today)
    assert paid.disbursement is not None and paid.disbursement.fee_amount == Decimal("300.00")
    receipt = PaymentRepository(engine, actors["cashier"]).disbursement_receipt(paid.disbursement.id)
    printed = receipt_text(receipt, "KES")
    for line in ("Principal", "KES 10,000.00", "Processing fee", "KES 300.00", "Cash paid out", "KES 9,700.00",
                 loan.loan_number, "Wanjiku Kamau", "BIZ-WEEKLY"):
        assert line in printed, printed
    assert admin.reactivate(product.id).is_active
