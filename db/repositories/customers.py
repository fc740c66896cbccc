"""Customers: search as the cashier types, the customer with their loans, create and edit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from db.errors import NotFound, ValidationError
from db.models import Customer, Loan
from db.repositories.base import Repository
from db.repositories.idempotency import check_idempotency_key, existing_by_key, insert_once
from db.repositories.peek import peek
from db.validation import CustomerInput, customer_problems, normalize_phone

PAGE_SIZE = 20
_CUSTOMER_NUMBER = re.compile(r"^C-?\d{1,9}$", re.IGNORECASE)
_LOAN_NUMBER = re.compile(r"^L-?\d{1,9}$", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_DIGITS_TYPED = re.compile(r"^[\d\s().-]+$")
PHONE_SUFFIX_DIGITS = 6
"""From this many digits typed (without a '+'), they also match the end of a phone number (customers_phone_
reverse_idx of 0013); fewer digits are a national ID only."""
_TRIGRAM_RUN = re.compile(r"[^\W_]{3}")
NAME_PROBE_CAP = 3000
"""Most trigram matches a name search sorts itself; a commoner fragment walks the ordered name index.

At 1,000,000 customers sorting 3,000 matches costs about 20 ms; the walk is that fast only for a fragment
common enough to fill a page early in the alphabet, and at 2,000 four-letter fragments with ~2,500 matches
late in it (Tana, Sang) walked for up to 1.8 s."""
PREFIX_LENGTHS = (2, 3)
"""Fragments this long match the start of the surname or first name (the first-name prefix indexes of 0011)."""


@dataclass(frozen=True)
class CustomerRow:
    id: int
    customer_number: str
    first_name: str
    last_name: str
    phone: str | None
    national_id: str | None
    status: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class LoanBrief:
    id: int
    loan_number: str
    principal_amount: Decimal
    status: str
    application_date: date


@dataclass(frozen=True)
class CustomerDetail:
    id: int
    customer_number: str
    data: CustomerInput
    status: str
    loans: tuple[LoanBrief, ...]

    @property
    def full_name(self) -> str:
        return f"{self.data.first_name} {self.data.last_name}"


@dataclass(frozen=True)
class SearchPage:
    rows: tuple[CustomerRow, ...]
    more: bool
    """Whether another page follows; ask for it with `after=` the last row."""


def _normalized_number(raw: str, prefix: str) -> str:
    digits = re.sub(r"\D", "", raw)
    return f"{prefix}-{int(digits):06d}"


def _escape_like(raw: str) -> str:
    return raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_name(text: str) -> bool:
    return len(text) >= 2 and any(ch.isalpha() for ch in text)


def _is_name_fragment(text: str) -> bool:
    """Text with a letter that is not a customer or loan number."""
    return _has_name(text) and not _CUSTOMER_NUMBER.match(text) and not _LOAN_NUMBER.match(text)


def _is_prefix_search(text: str) -> bool:
    """A short name fragment as a person types it: two or three characters, no space, with a letter."""
    return len(text) in PREFIX_LENGTHS and " " not in text and _is_name_fragment(text)


def _is_name_search(text: str) -> bool:
    """A name search the trigram index can narrow: a run of three letters or digits gives it a trigram."""
    return _is_name_fragment(text) and _TRIGRAM_RUN.search(text) is not None


_TOP_CHARACTER = "\U0010ffff"
_ORDER_CHECKED: dict[str, bool] = {}


def _codepoint_order(session: Session) -> bool:
    """Whether text sorts by code point (the C.UTF-8 collation of the embedded server), so that the names
    starting with a fragment lie between it and it + U+10FFFF; checked once per database."""
    key = str(session.get_bind().engine.url)
    if key not in _ORDER_CHECKED:
        probe = select(and_(literal("B") < literal("a"), literal("z") < literal("\u00e4"),
                            literal("\u00e4") < literal(_TOP_CHARACTER)))
        _ORDER_CHECKED[key] = bool(session.scalar(probe))
    return _ORDER_CHECKED[key]


_ROW_COLUMNS = (Customer.id, Customer.customer_number, Customer.first_name, Customer.last_name, Customer.phone,
                Customer.national_id, Customer.status)
"""The columns of a CustomerRow, in its order."""


def _row(customer: Customer) -> CustomerRow:
    return CustomerRow(customer.id, customer.customer_number, customer.first_name, customer.last_name,
                       customer.phone, customer.national_id, customer.status)


class CustomerRepository(Repository):
    def search(self, query: str, *, after: CustomerRow | None = None, limit: int = PAGE_SIZE,
               mine: bool = False) -> SearchPage:
        """Exact customer number, loan number, phone or national ID first; otherwise a name fragment.

        Results are paged by keyset on (last name, first name, id): never OFFSET, never a whole table.
        A fragment of two or three characters without a space (what a person has typed so far) matches the
        customers whose surname or first name starts with it (see _prefix_page). A longer fragment matches
        anywhere in "first name surname": it is answered from the trigram indexes when they find at most
        NAME_PROBE_CAP matches (see _name_page); a commoner fragment is dense enough for the walk of the name
        index in order.

        With `mine`, only the customers with a loan whose officer is the signed-in person (a loan officer's own
        clients): one more condition on every part, an EXISTS on loans_customer_idx for each row the walk meets.
        """
        text = " ".join(query.split())[:100]
        if not text:
            return SearchPage((), False)
        order = (func.lower(Customer.last_name), func.lower(Customer.first_name), Customer.id)
        keyset = [] if after is None else [
            tuple_(*order) > tuple_(func.lower(after.last_name), func.lower(after.first_name), literal(after.id))]
        if mine:
            keyset.append(exists().where(Loan.customer_id == Customer.id, Loan.loan_officer_id == self.actor.user_id))
        with self.read_work() as session:
            if _is_prefix_search(text):
                return self._prefix_page(session, text, keyset, limit)
            if _is_name_search(text):
                page = self._name_page(session, text, keyset, limit)
                if page is not None:
                    return page
            statement = self._search_statement(text).where(*keyset).order_by(*order).limit(limit + 1)
            found = [_row(c) for c in session.scalars(statement)]
        return SearchPage(tuple(found[:limit]), len(found) > limit)

    def _prefix_page(self, session: Session, text: str, keyset: list[ColumnElement[bool]],
                     limit: int) -> SearchPage:
        """The page of customers whose surname or first name starts with the fragment (any case), or whose
        national ID is exactly the fragment, each part read from an index range already in result order.

        Four parts that never share a row: first name starting with it and surname sorting before it;
        surname starting with it (one range of customers_last_name_idx); first name starting with it and
        surname sorting after the surnames that start with it; the exact national ID, if not already among
        them. The first-name parts are ranges of customers_first_name_prefix2_idx / _prefix3_idx
        (lower(left(first name, n)), then the result order), so each part reads its first page + 1 rows in
        order from its index and stops; the page is the first of those at most 4 × (page + 1) rows. (The
        planner does not merge the parts of a UNION ALL by their order, so each part has its own ORDER BY
        and LIMIT: a sort of a few dozen rows, never of a big set.)
        In code point order (the C.UTF-8 collation of the embedded server, checked once per database) the
        surnames starting with the fragment are exactly those in [lower(fragment), lower(fragment) +
        U+10FFFF); with another collation the same parts are written with starts_with (same answer, slower).
        """
        start = func.lower(literal(text))
        surname = func.lower(Customer.last_name)
        # A length from a fixed whitelist (PREFIX_LENGTHS) written into the SQL: the index's own expression.
        first_start = func.lower(func.left(Customer.first_name, literal_column(str(len(text))))) == start
        if _codepoint_order(session):
            by_surname = and_(surname >= start, surname < start + _TOP_CHARACTER)
            by_first = [and_(first_start, surname < start), and_(first_start, surname >= start + _TOP_CHARACTER)]
        else:
            by_surname = func.starts_with(surname, start)
            by_first = [and_(first_start, func.starts_with(surname, start).is_not(True))]
        by_id = and_(or_(*self._exact(text)), or_(by_surname, first_start).is_not(True))
        order = (surname, func.lower(Customer.first_name), Customer.id)
        # Core columns, not the mapped class: adapting an entity to the union costs more than the query.
        parts = [select(select(*_ROW_COLUMNS).where(where, *keyset).order_by(*order).limit(limit + 1).subquery())
                 for where in (by_surname, *by_first, by_id)]
        hits = union_all(*parts).subquery("hits")
        rows = session.execute(select(hits).order_by(
            func.lower(hits.c.last_name), func.lower(hits.c.first_name), hits.c.id).limit(limit + 1)).all()
        found = [CustomerRow(*row) for row in rows]
        return SearchPage(tuple(found[:limit]), len(found) > limit)

    def _name_page(self, session: Session, text: str, keyset: list[ColumnElement[bool]],
                   limit: int) -> SearchPage | None:
        """The page from the trigram indexes, in one query; None when they match more than NAME_PROBE_CAP.

        A fragment without a space lies wholly in the first name or wholly in the surname. The surnames that
        start with it are one range of the name index, already in order: the first page of them is read
        from there (in code point order, lower(surname) in [lower(fragment), lower(fragment) + U+10FFFF) is
        exactly `surname ILIKE 'fragment%'`, which PostgreSQL evaluates on lower() of both sides in UTF-8).
        The other matches (in the first name, or further into the surname) come from the trigram index of
        first name + surname-from-its-second-letter, usually few. A fragment with a space is looked up in
        the trigram index of the whole name. Either way the matches read are sorted and the first page
        taken; how many the trigram index found decides whether that page is complete.
        """
        escaped = _escape_like(text)
        exact = self._exact(text)
        split = " " not in text and _codepoint_order(session)
        # The trigram match runs in customer_name_matches (0016), within the caller's branches: under the
        # branches' row-level security a pattern (not leakproof) could not use the index here. At most
        # NAME_PROBE_CAP + 1 ids come back; more than the cap means a fragment too common for the probe.
        matches = func.customer_name_matches(f"%{escaped}%", split, NAME_PROBE_CAP)
        matched = select(matches.column_valued("id")).cte("matched")
        probed_where = or_(Customer.id.in_(select(matched.c.id)), *exact)
        probe = select(Customer).where(probed_where, *keyset).limit(NAME_PROBE_CAP + 1).cte("probe")
        total = (select(func.greatest(select(func.count()).select_from(matched).scalar_subquery(),
                                      select(func.count()).select_from(probe).scalar_subquery()))
                 .scalar_subquery())
        members = [select(probe)]
        if split:
            start = func.lower(literal(text))
            surname = func.lower(Customer.last_name)
            # Without the probe's matches, so the two parts never share a row (no de-duplication needed).
            head = (select(Customer)
                    .where(surname >= start, surname < start + _TOP_CHARACTER, probed_where.is_not(True), *keyset)
                    .order_by(surname, func.lower(Customer.first_name), Customer.id).limit(limit + 1))
            members.append(select(head.cte("head")))  # planned on its own: the index range, in order
        hits = aliased(Customer, union_all(*members).subquery("hits"))
        rows = session.execute(select(hits, total).order_by(
            func.lower(hits.last_name), func.lower(hits.first_name), hits.id).limit(limit + 1)).all()
        if rows and rows[0][1] > NAME_PROBE_CAP:
            return None
        if not rows and (session.scalar(select(func.count()).select_from(matches.table_valued("id")))
                         or 0) > NAME_PROBE_CAP:
            return None  # nothing after the keyset among the first matches, but there are more than the cap
        found = [_row(row[0]) for row in rows]
        return SearchPage(tuple(found[:limit]), len(found) > limit)

    @staticmethod
    def _exact(text: str) -> list[ColumnElement[bool]]:
        """The national ID as typed; the phone in any form normalize_phone knows ('0712 345 678', '+254 …');
        and from PHONE_SUFFIX_DIGITS digits on, the phones that end with them."""
        exact = [Customer.national_id == text]
        if _PHONE_LIKE.match(text):
            exact.append(Customer.phone == normalize_phone(text))
        if _DIGITS_TYPED.match(text):
            digits = re.sub(r"\D", "", text)
            if len(digits) >= PHONE_SUFFIX_DIGITS:
                # The expression of customers_phone_reverse_idx (text_pattern_ops): the reversed phones that start
                # with the reversed digits are one range of it, written with the index's own operators (~>=~, ~<~)
                # rather than LIKE, because they are leakproof: under the branches' row-level security a LIKE
                # could not be used on the index. Digits only, so the next character up ends the range.
                start = digits[::-1]
                reversed_phone = func.reverse(Customer.phone)
                exact.append(and_(reversed_phone.op("~>=~")(start),
                                  reversed_phone.op("~<~")(start[:-1] + chr(ord(start[-1]) + 1))))
        return exact

    def _search_statement(self, text: str) -> Select[tuple[Customer]]:
        base = select(Customer)
        if _CUSTOMER_NUMBER.match(text):
            return base.where(Customer.customer_number == _normalized_number(text, "C"))
        if _LOAN_NUMBER.match(text):
            loan_customer = select(Loan.customer_id).where(Loan.loan_number == _normalized_number(text, "L"))
            return base.where(Customer.id.in_(loan_customer.scalar_subquery()))
        exact = self._exact(text)
        # A name has letters: digits and signs alone are a phone or national ID, found by their own indexes.
        if not _has_name(text):
            return base.where(or_(*exact))
        pattern = f"%{_escape_like(text)}%"
        by_name = (Customer.first_name + " " + Customer.last_name).ilike(pattern, escape="\\")
        return base.where(or_(by_name, *exact))

    def get(self, customer_id: int) -> CustomerDetail:
        with self.work() as session:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise NotFound(f"customer {customer_id} does not exist")
            loans = session.scalars(
                select(Loan).where(Loan.customer_id == customer_id).order_by(Loan.application_date.desc(), Loan.id)
            ).all()
            return CustomerDetail(
                id=customer.id,
                customer_number=customer.customer_number,
                data=CustomerInput(
                    first_name=customer.first_name, last_name=customer.last_name,
                    national_id=customer.national_id, phone=customer.phone, email=customer.email,
                    date_of_birth=customer.date_of_birth, gender=customer.gender, address=customer.address,
                    occupation=customer.occupation,
                ),
                status=customer.status,
                loans=tuple(
                    LoanBrief(loan.id, loan.loan_number, loan.principal_amount, loan.status, loan.application_date)
                    for loan in loans
                ),
            )

    def national_id_holder(self, national_id: str, *, other_than: int | None = None) -> str | None:
        """The number of another customer with this national ID, if any (a form says so before saving)."""
        with peek(self.engine, self.actor) as session:
            return session.scalar(select(Customer.customer_number).where(
                Customer.national_id == national_id.strip(), Customer.id != (other_than or 0)).limit(1))

    def phone_holders(self, phone: str, *, other_than: int | None = None, limit: int = 5) -> list[CustomerRow]:
        """Other customers with this phone (as stored, E.164): phones are not unique, but staff are warned."""
        with peek(self.engine, self.actor) as session:
            customers = session.scalars(
                select(Customer).where(Customer.phone == normalize_phone(phone), Customer.id != (other_than or 0))
                .order_by(Customer.id).limit(limit)
            ).all()
            return [_row(customer) for customer in customers]

    def create(self, data: CustomerInput, *, today: date, idempotency_key: str | None = None) -> CustomerDetail:
        """Create the customer; with the form's key, once per key: a retry returns the customer the first
        save created (its reply may have been lost after the commit) instead of creating a second one."""
        cleaned = self._checked(data, today)
        check_idempotency_key(idempotency_key, "first_name")
        with self.work() as session:
            new_id = existing_by_key(session, Customer, idempotency_key, self.actor.user_id, "first_name")
            if new_id is None:
                self._refuse_duplicate_national_id(session, cleaned, None)
                customer = Customer(**cleaned.__dict__, created_by=self.actor.user_id,
                                    idempotency_key=idempotency_key)
                new_id = insert_once(session, customer, idempotency_key, self.actor.user_id, "first_name")
        return self.get(new_id)

    def update(self, customer_id: int, data: CustomerInput, *, today: date) -> CustomerDetail:
        cleaned = self._checked(data, today)
        with self.work() as session:
            customer = session.get(Customer, customer_id, with_for_update=True)
            if customer is None:
                raise NotFound(f"customer {customer_id} does not exist")
            self._refuse_duplicate_national_id(session, cleaned, customer_id)
            for name, value in cleaned.__dict__.items():
                setattr(customer, name, value)
        return self.get(customer_id)

    def set_status(self, customer_id: int, status: str) -> None:
        if status not in ("active", "inactive"):
            raise ValidationError({"status": "choose active or inactive"})
        with self.work() as session:
            customer = session.get(Customer, customer_id, with_for_update=True)
            if customer is None:
                raise NotFound(f"customer {customer_id} does not exist")
            customer.status = status

    @staticmethod
    def _checked(data: CustomerInput, today: date) -> CustomerInput:
        cleaned = data.cleaned()
        problems = customer_problems(cleaned, today)
        if problems:
            raise ValidationError(problems)
        return cleaned

    @staticmethod
    def _refuse_duplicate_national_id(session: Session, data: CustomerInput, own_id: int | None) -> None:
        if not data.national_id:
            return
        clash = session.scalar(
            select(Customer.customer_number).where(
                and_(Customer.national_id == data.national_id, Customer.id != (own_id or 0))
            )
        )
        if clash:
            raise ValidationError({"national_id": f"customer {clash} already has this national ID"})
