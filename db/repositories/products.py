"""Loan products: the catalogue a loan application starts from, as the admin keeps it.

A product fixes the interest method and repayment frequency, bounds the principal, rate and term, and charges
a processing fee at disbursement. The database states every rule again (a trigger on loan_products, another
on loans) with the same messages, beside the same fields; this module checks what was typed first, so a form
can say what is wrong before anything is sent. Products are never deleted: retiring one stops new
applications, and its loans go on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text, true

from db.errors import NotFound, ValidationError
from db.models import Loan
from db.models import LoanProduct as ProductRow
from db.repositories.base import Repository

if TYPE_CHECKING:
    from db.repositories.loans import LoanTerms

METHODS = ("flat", "declining_balance")
PENALTY_METHODS = ("none", "flat", "percent_of_overdue_principal", "percent_of_overdue_installment")
FREQUENCIES = ("weekly", "biweekly", "monthly")
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
RATE_STEP = Decimal("0.0001")
CODE = re.compile(r"[A-Z0-9-]{2,20}")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NUMBER = re.compile(r"^([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]*)?$")
UNIT = {"weekly": "weeks", "biweekly": "fortnights", "monthly": "months"}


def money_text(value: Decimal) -> str:
    """As the database's ledger_money: 5000 → '5,000.00'."""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def rate_text(value: Decimal) -> str:
    """As the database's trim_scale: 18.0000 → '18', 18.5000 → '18.5'."""
    return f"{value.normalize():f}" if value != 0 else "0"


def range_text(low: str | None, high: str | None) -> str:
    """As the database's loan_product_range_text."""
    if low is not None and high is not None:
        return f"{low} to {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


@dataclass(frozen=True)
class LoanProduct:
    id: int
    code: str
    name: str
    interest_method: str
    repayment_frequency: str
    principal_min: Decimal | None
    principal_max: Decimal | None
    rate_min: Decimal | None
    rate_max: Decimal | None
    rate_default: Decimal | None
    term_min: int | None
    term_max: int | None
    term_default: int | None
    fee_percent: Decimal
    fee_flat: Decimal
    is_active: bool
    loan_count: int = 0
    penalty_method: str = "none"
    penalty_value: Decimal = Decimal("0")
    penalty_grace_days: int = 0
    penalty_interval_days: int | None = None
    penalty_cap: Decimal | None = None

    def fee_for(self, principal: Decimal) -> Decimal:
        """As the database's loan_product_fee (which the preview and the loan itself use)."""
        return (principal * self.fee_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP) + self.fee_flat

    @property
    def fee_text(self) -> str:
        parts = []
        if self.fee_percent:
            parts.append(f"{rate_text(self.fee_percent)} %")
        if self.fee_flat:
            parts.append(money_text(self.fee_flat))
        return " + ".join(parts) or "no fee"

    @property
    def hint(self) -> str:
        """The ranges in a line: '5,000.00–50,000.00 · 18–30 % · 8–26 weeks · fee 2 % + 100.00'."""
        def span(low: str | None, high: str | None, unit: str = "") -> str:
            if low is None and high is None:
                return f"any{unit}" if unit else "any"
            if low is not None and high is not None:
                return f"{low}–{high}{unit}" if low != high else f"{low}{unit}"
            return f"≥ {low}{unit}" if low is not None else f"≤ {high}{unit}"

        def opt(value: Decimal | None, show: type[str] | None = None) -> str | None:
            return None if value is None else (money_text(value) if show is None else rate_text(value))

        return " · ".join((
            span(opt(self.principal_min), opt(self.principal_max)),
            span(opt(self.rate_min, str), opt(self.rate_max, str), " %"),
            span(None if self.term_min is None else str(self.term_min),
                 None if self.term_max is None else str(self.term_max), f" {UNIT[self.repayment_frequency]}"),
            f"fee {self.fee_text}",
        ))

    def terms_problems(self, terms: LoanTerms) -> dict[str, str]:
        """The product's rules for these terms, in the database's words (trigger loans_check_product)."""
        problems: dict[str, str] = {}
        if not self.is_active:
            problems["product"] = f"the product {self.code} is retired and takes no new applications"
        if terms.interest_method != self.interest_method:
            problems["interest_method"] = f"{self.code} lends at {self.interest_method.replace('_', ' ')} interest only"
        if terms.repayment_frequency != self.repayment_frequency:
            problems["repayment_frequency"] = f"{self.code} is repaid {self.repayment_frequency} only"
        if (self.principal_min is not None and terms.principal < self.principal_min
                or self.principal_max is not None and terms.principal > self.principal_max):
            problems["principal"] = f"the principal for {self.code} is " + range_text(
                None if self.principal_min is None else money_text(self.principal_min),
                None if self.principal_max is None else money_text(self.principal_max))
        elif (fee := self.fee_for(terms.principal)) >= terms.principal:
            problems["principal"] = f"the processing fee of {money_text(fee)} would take the whole principal"
        if (self.rate_min is not None and terms.interest_rate < self.rate_min
                or self.rate_max is not None and terms.interest_rate > self.rate_max):
            problems["interest_rate"] = f"the rate for {self.code} is " + range_text(
                None if self.rate_min is None else rate_text(self.rate_min),
                None if self.rate_max is None else rate_text(self.rate_max)) + " %"
        if (self.term_min is not None and terms.term < self.term_min
                or self.term_max is not None and terms.term > self.term_max):
            problems["term"] = f"the number of installments for {self.code} is " + range_text(
                None if self.term_min is None else str(self.term_min),
                None if self.term_max is None else str(self.term_max))
        return problems


@dataclass(frozen=True)
class ProductForm:
    """A product as typed: text in every field; an empty range field means no limit."""

    code: str = ""
    name: str = ""
    interest_method: str = ""
    repayment_frequency: str = ""
    principal_min: str = ""
    principal_max: str = ""
    rate_min: str = ""
    rate_max: str = ""
    rate_default: str = ""
    term_min: str = ""
    term_max: str = ""
    term_default: str = ""
    fee_percent: str = ""
    fee_flat: str = ""
    penalty_method: str = ""
    penalty_value: str = ""
    penalty_grace_days: str = ""
    penalty_interval_days: str = ""
    penalty_cap: str = ""

    @classmethod
    def of(cls, product: LoanProduct) -> ProductForm:
        """The form filled from a product, for editing."""
        def num(value: Decimal | int | None, rate: bool = False) -> str:
            if value is None:
                return ""
            if isinstance(value, int):
                return str(value)
            return rate_text(value) if rate else f"{value:.2f}"

        return cls(product.code, product.name, product.interest_method, product.repayment_frequency,
                   num(product.principal_min), num(product.principal_max), num(product.rate_min, True),
                   num(product.rate_max, True), num(product.rate_default, True), num(product.term_min),
                   num(product.term_max), num(product.term_default), num(product.fee_percent, True),
                   num(product.fee_flat), product.penalty_method,
                   "" if product.penalty_method == "none" else
                   (num(product.penalty_value) if product.penalty_method == "flat"
                    else num(product.penalty_value, True)),
                   num(product.penalty_grace_days), num(product.penalty_interval_days), num(product.penalty_cap))


FIELD_NAMES = tuple(f.name for f in fields(ProductForm))


def _decimal(raw: str, what: str, places: Decimal, high: Decimal) -> Decimal | None:
    """A typed number ('5,000', '18.5'), or None when empty; ValueError says what is wrong in words."""
    text_ = raw.strip()
    if not text_:
        return None
    if text_.startswith("-"):
        raise ValueError(f"{what} cannot be negative")
    if not _NUMBER.match(text_) or text_ in {".", ""}:
        raise ValueError(f"{what}: use digits and an optional decimal point, e.g. 5,000 or 18.5")
    try:
        value = Decimal(text_.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{what} is not a number") from None
    if value > high:
        raise ValueError(f"{what} is at most {high:,}")
    if value != value.quantize(places):
        raise ValueError(f"{what} has at most {len(str(places)) - 2} decimals")
    return value.quantize(places)


def _whole(raw: str, what: str) -> int | None:
    text_ = raw.strip()
    if not text_:
        return None
    if not text_.isascii() or not text_.isdigit():
        raise ValueError(f"{what} is a whole number between 1 and 520")
    value = int(text_)
    if not 1 <= value <= 520:
        raise ValueError(f"{what} is a whole number between 1 and 520")
    return value


@dataclass(frozen=True)
class ProductValues:
    code: str
    name: str
    interest_method: str
    repayment_frequency: str
    principal_min: Decimal | None
    principal_max: Decimal | None
    rate_min: Decimal | None
    rate_max: Decimal | None
    rate_default: Decimal | None
    term_min: int | None
    term_max: int | None
    term_default: int | None
    fee_percent: Decimal
    fee_flat: Decimal
    penalty_method: str = "none"
    penalty_value: Decimal = Decimal("0")
    penalty_grace_days: int = 0
    penalty_interval_days: int | None = None
    penalty_cap: Decimal | None = None


def _days(raw: str, what: str, low: int) -> int | None:
    text_ = raw.strip()
    if not text_:
        return None
    if not text_.isascii() or not text_.isdigit() or not low <= int(text_) <= 3650:
        raise ValueError(f"{what} is a whole number of days from {low} to 3650")
    return int(text_)


def read_penalty(form: ProductForm, problems: dict[str, str]) -> tuple[str, Decimal, int, int | None, Decimal | None]:
    """The late penalty rule as typed (method, value, grace days, every N days, cap); problems by field."""
    method = form.penalty_method or "none"
    if method not in PENALTY_METHODS:
        problems["penalty_method"] = "choose no penalty, a flat amount or a percentage of what is overdue"
        method = "none"
    value: Decimal | None = Decimal("0")
    try:
        if method == "flat":
            value = _decimal(form.penalty_value, "the penalty amount", CENT, MAX_AMOUNT)
        elif method != "none":
            value = _decimal(form.penalty_value, "the penalty percentage", RATE_STEP, Decimal(100))
    except ValueError as exc:
        problems["penalty_value"] = str(exc)
    if method != "none" and "penalty_value" not in problems and not value:
        problems["penalty_value"] = ("type the amount charged each time, e.g. 50" if method == "flat"
                                     else "type the percentage charged each time, e.g. 5")
    grace = interval = None
    try:
        grace = _days(form.penalty_grace_days, "the grace", 0)
    except ValueError as exc:
        problems["penalty_grace_days"] = str(exc)
    try:
        interval = _days(form.penalty_interval_days, "the interval (empty: charged once)", 1)
    except ValueError as exc:
        problems["penalty_interval_days"] = str(exc)
    cap = None
    try:
        cap = _decimal(form.penalty_cap, "the cap per installment", CENT, MAX_AMOUNT)
    except ValueError as exc:
        problems["penalty_cap"] = str(exc)
    return method, value or Decimal("0"), grace or 0, interval, cap


def read_product(form: ProductForm) -> ProductValues:
    """The form's values, or ValidationError with a message per field, as the database would say them."""
    problems: dict[str, str] = {}
    code = form.code.strip().upper()
    if not CODE.fullmatch(code):
        problems["code"] = "a product code has 2 to 20 letters, digits or dashes"
    name = form.name.strip()
    if not name:
        problems["name"] = "the product name is required"
    elif len(name) > 100:
        problems["name"] = "the product name has at most 100 characters"
    elif CONTROL.search(name):
        problems["name"] = "the product name contains control characters (tabs, line breaks, escapes)"
    if form.interest_method not in METHODS:
        problems["interest_method"] = "choose flat or declining balance"
    if form.repayment_frequency not in FREQUENCIES:
        problems["repayment_frequency"] = "choose weekly, biweekly or monthly"
    values: dict[str, Decimal | int | None] = {}
    money = {"principal_min": "the smallest principal", "principal_max": "the largest principal",
             "fee_flat": "the flat fee"}
    rates = {"rate_min": "the lowest rate", "rate_max": "the highest rate", "rate_default": "the usual rate",
             "fee_percent": "the fee percentage"}
    terms = {"term_min": "the fewest installments", "term_max": "the most installments",
             "term_default": "the usual number of installments"}
    for name_, what in money.items():
        try:
            values[name_] = _decimal(getattr(form, name_), what, CENT, MAX_AMOUNT)
        except ValueError as exc:
            problems[name_] = str(exc)
    for name_, what in rates.items():
        try:
            values[name_] = _decimal(getattr(form, name_), what, RATE_STEP, Decimal(1000))
        except ValueError as exc:
            problems[name_] = str(exc)
    for name_, what in terms.items():
        try:
            values[name_] = _whole(getattr(form, name_), what)
        except ValueError as exc:
            problems[name_] = str(exc)

    def dec(key: str) -> Decimal | None:
        value = values.get(key)
        return value if isinstance(value, Decimal) else None

    def whole(key: str) -> int | None:
        value = values.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    low, high = dec("principal_min"), dec("principal_max")
    if low is not None and low <= 0 and "principal_min" not in problems:
        problems["principal_min"] = "the smallest principal must be more than zero"
    if high is not None and high <= 0 and "principal_max" not in problems:
        problems["principal_max"] = "the largest principal must be more than zero"
    if low is not None and high is not None and low > high and not problems.keys() & money.keys():
        problems["principal_min"] = f"the smallest principal is above the largest ({money_text(high)})"
    rate_low, rate_high, rate_usual = dec("rate_min"), dec("rate_max"), dec("rate_default")
    if rate_low is not None and rate_high is not None and rate_low > rate_high and "rate_min" not in problems:
        problems["rate_min"] = f"the lowest rate is above the highest ({rate_text(rate_high)} %)"
    elif rate_usual is not None and (rate_low is not None and rate_usual < rate_low
                                     or rate_high is not None and rate_usual > rate_high):
        problems.setdefault("rate_default", "the usual rate is outside the range (" + range_text(
            None if rate_low is None else rate_text(rate_low),
            None if rate_high is None else rate_text(rate_high)) + " %)")
    term_low, term_high, term_usual = whole("term_min"), whole("term_max"), whole("term_default")
    if term_low is not None and term_high is not None and term_low > term_high:
        problems.setdefault("term_min", f"the fewest installments is above the most ({term_high})")
    elif term_usual is not None and (term_low is not None and term_usual < term_low
                                     or term_high is not None and term_usual > term_high):
        problems.setdefault("term_default", "the usual number of installments is outside the range (" + range_text(
            None if term_low is None else str(term_low), None if term_high is None else str(term_high)) + ")")
    penalty = read_penalty(form, problems)
    percent = dec("fee_percent") or Decimal("0.0000")
    flat = dec("fee_flat") or Decimal("0.00")
    if percent >= 100 and "fee_percent" not in problems:
        problems["fee_percent"] = "the fee percentage is at least 0 and less than 100"
    if low is not None and low > 0 and not problems.keys() & {"fee_percent", "fee_flat", "principal_min"}:
        fee = (low * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP) + flat
        if fee >= low:
            problems["fee_flat"] = (f"the fee on the smallest principal ({money_text(low)}) would take all of it "
                                    f"({money_text(fee)})")
    if problems:
        raise ValidationError({key: problems[key] for key in FIELD_NAMES if key in problems}
                              | {key: msg for key, msg in problems.items() if key not in FIELD_NAMES})
    return ProductValues(code, name, form.interest_method, form.repayment_frequency, low, high, rate_low,
                         rate_high, rate_usual, term_low, term_high, term_usual, percent, flat, *penalty)


def _product(row: ProductRow, loan_count: int = 0) -> LoanProduct:
    return LoanProduct(row.id, row.code, row.name, row.interest_method, row.repayment_frequency,
                       row.principal_min, row.principal_max, row.rate_min, row.rate_max, row.rate_default,
                       None if row.term_min is None else int(row.term_min),
                       None if row.term_max is None else int(row.term_max),
                       None if row.term_default is None else int(row.term_default),
                       row.fee_percent, row.fee_flat, row.is_active, loan_count, row.penalty_method,
                       row.penalty_value, int(row.penalty_grace_days),
                       None if row.penalty_interval_days is None else int(row.penalty_interval_days),
                       row.penalty_cap)


class ProductRepository(Repository):
    def list(self, *, active_only: bool = False) -> list[LoanProduct]:
        """The catalogue by code: the active products for an application, all of them for the admin."""
        loans = (select(Loan.product_id, func.count().label("n")).where(Loan.product_id.is_not(None))
                 .group_by(Loan.product_id).subquery())
        with self.work() as session:
            rows = session.execute(
                select(ProductRow, func.coalesce(loans.c.n, 0))
                .outerjoin(loans, loans.c.product_id == ProductRow.id)
                .where(ProductRow.is_active.is_(True) if active_only else true())
                .order_by(ProductRow.code)
            ).all()
            return [_product(row, int(n)) for row, n in rows]

    def get(self, product_id: int) -> LoanProduct:
        with self.work() as session:
            row = session.get(ProductRow, product_id)
            if row is None:
                raise NotFound(f"loan product {product_id} does not exist")
            return _product(row)

    def create(self, form: ProductForm) -> LoanProduct:
        values = read_product(form)
        with self.work() as session:
            if session.scalar(select(ProductRow.id).where(ProductRow.code == values.code)) is not None:
                raise ValidationError({"code": f"another product already has the code {values.code}"})
            row = ProductRow(**vars(values), created_by=self.actor.user_id)
            session.add(row)
            session.flush()
            session.refresh(row)
            return _product(row)

    def update(self, product_id: int, form: ProductForm) -> LoanProduct:
        """Name, ranges, defaults and fee; method and frequency only while no loan uses the product (the
        database says so beside the field). Applied loans keep the fee they were given."""
        values = read_product(form)
        with self.work() as session:
            row = session.get(ProductRow, product_id, with_for_update=True)
            if row is None:
                raise NotFound(f"loan product {product_id} does not exist")
            for name, value in vars(values).items():
                setattr(row, name, value)
            session.flush()
            session.refresh(row)
            return _product(row)

    def retire(self, product_id: int) -> LoanProduct:
        """No new applications; the product's loans go on."""
        return self._set_active(product_id, False)

    def reactivate(self, product_id: int) -> LoanProduct:
        return self._set_active(product_id, True)

    def _set_active(self, product_id: int, active: bool) -> LoanProduct:
        with self.work() as session:
            row = session.get(ProductRow, product_id, with_for_update=True)
            if row is None:
                raise NotFound(f"loan product {product_id} does not exist")
            row.is_active = active
            session.flush()
            session.refresh(row)
            return _product(row)

    def fee(self, product_id: int, principal: Decimal) -> Decimal:
        """The database's fee for a principal under the product (loan_product_fee)."""
        with self.work() as session:
            value = session.execute(text("SELECT loan_product_fee(:p, :amount)"),
                                    {"p": product_id, "amount": principal}).scalar_one()
        if value is None:
            raise NotFound(f"loan product {product_id} does not exist")
        return Decimal(value)
