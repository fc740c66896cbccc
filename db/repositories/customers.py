"""Customers: search as the cashier types, the customer with their loans, create and edit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    and_,
    any_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from db.errors import NotFound, ValidationError
from db.models import Customer, Loan
from db.repositories.base import Repository, contains_pattern
from db.repositories.idempotency import KEY_OF_ANOTHER, check_idempotency_key
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
PHONE_SUFFIX_CAP = 1000
"""Most customers whose phone ends with the digits typed that a search reads (six digits match about one phone in
a million)."""
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


def _once(ids: ColumnElement[Any]) -> ColumnElement[Any]:
    """An array of ids computed once, before the query reads customers by them: an InitPlan. (Written in the
    query itself, a search function would run twice: the planner calls a stable function to estimate how many ids
    it gives.) The cast makes `= ANY` take the array: `= ANY ((SELECT …))` would compare with each row."""
    return cast(select(ids).scalar_subquery(), ARRAY(BigInteger))


@dataclass(frozen=True)
class _PageAfter:
    """Where a page starts, as customer_name_page_ids (0018) takes it: the last row of the previous page (lower
    case names and id, None for the first page) and, for "my clients", the officer."""

    last_name: ColumnElement[Any] | None
    first_name: ColumnElement[Any] | None
    id: int | None
    officer: int | None

    @classmethod
    def of(cls, after: CustomerRow | None, officer: int | None) -> _PageAfter:
        if after is None:
            return cls(None, None, None, officer)
        return cls(func.lower(literal(after.last_name)), func.lower(literal(after.first_name)), after.id, officer)

    def arguments(self, limit: int) -> tuple[Any, ...]:
        return self.last_name, self.first_name, self.id, limit, self.officer


_CREATE = text("""
    WITH prior AS (
        SELECT id, created_by FROM customers WHERE idempotency_key = CAST(:key AS text)
    ), clash AS (
        SELECT customer_number FROM customers
        WHERE national_id = CAST(:national_id AS text) AND NOT EXISTS (SELECT FROM prior)
        LIMIT 1
    ), made AS (
        INSERT INTO customers (first_name, last_name, national_id, phone, email, date_of_birth, gender, address,
                               occupation, created_by, idempotency_key)
        SELECT CAST(:first_name AS text), CAST(:last_name AS text), CAST(:national_id AS text), CAST(:phone AS text),
               CAST(:email AS text), CAST(:date_of_birth AS date), CAST(:gender AS text), CAST(:address AS text),
               CAST(:occupation AS text), CAST(:user AS bigint), CAST(:key AS text)
        WHERE NOT EXISTS (SELECT FROM prior) AND NOT EXISTS (SELECT FROM clash)
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id
    )
    SELECT EXISTS (SELECT FROM prior) AS prior_found, (SELECT created_by FROM prior) AS prior_by,
           (SELECT customer_number FROM clash) AS clash,
           set_config('astrofin.result', coalesce(CAST((SELECT id FROM made) AS text),
                                                  (SELECT CAST(id AS text) FROM prior
                                                   WHERE created_by = CAST(:user AS bigint)), ''), true) AS id
""")
"""A customer's insert as one statement: an earlier save with the form's key (returned when it is the person's own),
or another customer with the national ID (refused: nothing inserted), else the insert; its id kept in
`astrofin.result`. A save with the same key committed while this one waited on the key's index inserts nothing here:
_KEY_TAKEN names it."""

_KEY_TAKEN = text("""
    SELECT id, created_by,
           set_config('astrofin.result', CASE WHEN created_by = CAST(:user AS bigint) THEN CAST(id AS text)
                                              ELSE '' END, true) AS kept
    FROM customers
    WHERE idempotency_key = CAST(:key AS text) AND current_setting('astrofin.result', true) = ''
""")

_UPDATE = text("""
    WITH target AS (
        SELECT id FROM customers WHERE id = CAST(:id AS bigint)
    ), clash AS (
        SELECT customer_number FROM customers
        WHERE national_id = CAST(:national_id AS text) AND id <> CAST(:id AS bigint) AND EXISTS (SELECT FROM target)
        LIMIT 1
    ), changed AS (
        UPDATE customers
        SET first_name = CAST(:first_name AS text), last_name = CAST(:last_name AS text),
            national_id = CAST(:national_id AS text), phone = CAST(:phone AS text), email = CAST(:email AS text),
            date_of_birth = CAST(:date_of_birth AS date), gender = CAST(:gender AS text),
            address = CAST(:address AS text), occupation = CAST(:occupation AS text)
        WHERE id = CAST(:id AS bigint) AND NOT EXISTS (SELECT FROM clash)
          AND (first_name, last_name, national_id, phone, email, date_of_birth, gender, address, occupation)
              IS DISTINCT FROM (CAST(:first_name AS text), CAST(:last_name AS text), CAST(:national_id AS text),
                                CAST(:phone AS text), CAST(:email AS text), CAST(:date_of_birth AS date),
                                CAST(:gender AS text), CAST(:address AS text), CAST(:occupation AS text))
        RETURNING id
    )
    SELECT EXISTS (SELECT FROM target) AS found, (SELECT customer_number FROM clash) AS clash,
           set_config('astrofin.result', CASE WHEN EXISTS (SELECT FROM clash) THEN ''
                                              ELSE coalesce((SELECT CAST(id AS text) FROM target), '') END,
                      true) AS id
""")
"""A customer's edit as one statement: refused (nothing written) when another customer has the national ID; written
only when a field changed, so an unchanged save leaves no audit row, as the ORM's did."""

_CUSTOMER = text("""
    SELECT id, customer_number, first_name, last_name, national_id, phone, email, date_of_birth, gender, address,
           occupation, status
    FROM customers
    WHERE id = CAST(NULLIF(current_setting('astrofin.result', true), '') AS bigint)
""")
_CUSTOMER_LOANS = text("""
    SELECT id, loan_number, principal_amount, status, application_date
    FROM loans
    WHERE customer_id = CAST(NULLIF(current_setting('astrofin.result', true), '') AS bigint)
    ORDER BY application_date DESC, id
""")
"""The customer named by `astrofin.result`, and their loans: read in the message that saved them (or by get)."""


def _detail(row: Any, loans: Sequence[Any]) -> CustomerDetail:
    return CustomerDetail(
        id=row.id, customer_number=row.customer_number,
        data=CustomerInput(first_name=row.first_name, last_name=row.last_name, national_id=row.national_id,
                           phone=row.phone, email=row.email, date_of_birth=row.date_of_birth, gender=row.gender,
                           address=row.address, occupation=row.occupation),
        status=row.status,
        loans=tuple(LoanBrief(loan.id, loan.loan_number, loan.principal_amount, loan.status, loan.application_date)
                    for loan in loans))


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
        page_after = _PageAfter.of(after, self.actor.user_id if mine else None)
        if not _is_name_fragment(text):
            # A number, a phone or a national ID: its own index answers, and the round trips of a unit of work
            # were most of what the search cost, so it goes as one message (db/one_trip.py).
            statement = self._search_statement(text).where(*keyset).order_by(*order).limit(limit + 1)
            exact = [CustomerRow(*row) for row in self.fetch_in_one_trip(statement)]
            return SearchPage(tuple(exact[:limit]), len(exact) > limit)
        with self.read_work() as session:
            if _is_prefix_search(text):
                return self._prefix_page(session, text, keyset, limit, page_after)
            if _is_name_search(text):
                page = self._name_page(session, text, keyset, limit, page_after)
                if page is not None:
                    return page
            # The walk of the name index in order, from the keyset, in customer_name_page_ids (0018): under the
            # branches' row-level security neither the pattern nor the keyset could be an index condition here.
            pattern = contains_pattern(text)
            walk = _once(func.customer_name_page_ids("walk", pattern, *page_after.arguments(limit)))
            statement = select(Customer).where(or_(Customer.id == any_(walk), *self._exact(text)))
            statement = statement.where(*keyset).order_by(*order).limit(limit + 1)
            found = [_row(c) for c in session.scalars(statement)]
        return SearchPage(tuple(found[:limit]), len(found) > limit)

    def _prefix_page(self, session: Session, text: str, keyset: list[ColumnElement[bool]], limit: int,
                     page_after: _PageAfter) -> SearchPage:
        """The page of customers whose surname or first name starts with the fragment (any case), or whose
        national ID is exactly the fragment, each part read from an index range already in result order.

        Three parts that never share a row: the surnames starting with it (one range of customers_last_name_idx);
        the first names starting with it whose surname does not (one equality range of
        customers_first_name_prefix2_idx / _prefix3_idx: lower(left(first name, n)), then the result order); the
        exact national ID. Each name part reads its first page + 1 rows after the keyset in order and stops, in
        customer_name_page_ids (0018), as the owner within the caller's branches: under the branches' row-level
        security lower() and left() (not leakproof) could not be index conditions here. The customers are then
        read by id, and the page is the first of those at most 2 × (page + 1) rows and the ID holder.
        In code point order (the C.UTF-8 collation of the embedded server, checked once per database) the
        surnames starting with the fragment are exactly those in [lower(fragment), lower(fragment) +
        U+10FFFF); with another collation the parts are written with starts_with here (same answer, slower).
        """
        start = func.lower(literal(text))
        order = (func.lower(Customer.last_name), func.lower(Customer.first_name), Customer.id)
        if _codepoint_order(session):
            arguments = page_after.arguments(limit)
            ids = func.array_cat(_once(func.customer_name_page_ids("surname_start", start, *arguments)),
                                 _once(func.customer_name_page_ids("first_name_start", start, *arguments)))
            where = or_(Customer.id == any_(ids), *self._exact(text))
        else:
            # A length from a fixed whitelist (PREFIX_LENGTHS) written into the SQL: the index's own expression.
            first_start = func.lower(func.left(Customer.first_name, literal_column(str(len(text))))) == start
            where = or_(func.starts_with(func.lower(Customer.last_name), start), first_start, *self._exact(text))
        # Core columns, not the mapped class: adapting an entity costs more than the query.
        rows = session.execute(select(*_ROW_COLUMNS).where(where, *keyset).order_by(*order).limit(limit + 1)).all()
        found = [CustomerRow(*row) for row in rows]
        return SearchPage(tuple(found[:limit]), len(found) > limit)

    def _name_page(self, session: Session, text: str, keyset: list[ColumnElement[bool]], limit: int,
                   page_after: _PageAfter) -> SearchPage | None:
        """The page from the trigram indexes, in one query; None when they match more than NAME_PROBE_CAP.

        A fragment without a space lies wholly in the first name or wholly in the surname. The surnames that
        start with it are one range of the name index, already in order: the first page of them after the keyset
        comes from there (customer_name_page_ids, 0018). The other matches (in the first name, or further
        into the surname) come from the trigram index of first name + surname-from-its-second-letter, usually
        few. A fragment with a space is looked up in the trigram index of the whole name. Either way the trigram
        match runs in customer_name_matches (0016) within the caller's branches (under the branches' row-level
        security a pattern, not leakproof, could not use the index here), at most NAME_PROBE_CAP + 1 ids come
        back, and more than the cap means a fragment too common for the probe. The customers are read by id with
        the exact national ID, sorted, and the first page taken.
        """
        split = " " not in text and _codepoint_order(session)
        matches = func.customer_name_matches(contains_pattern(text), split, NAME_PROBE_CAP).column_valued("id")
        matched = select(func.array_agg(matches).label("ids")).cte("matched")
        ids: ColumnElement[Any] = _once(matched.c.ids)
        if split:
            head = func.customer_name_page_ids("surname_start", func.lower(literal(text)), *page_after.arguments(limit))
            ids = func.array_cat(ids, _once(head))
        found_by_probe = func.coalesce(select(func.cardinality(matched.c.ids)).scalar_subquery(), 0)
        rows = session.execute(
            select(*_ROW_COLUMNS, found_by_probe).where(or_(Customer.id == any_(ids), *self._exact(text)), *keyset)
            .order_by(func.lower(Customer.last_name), func.lower(Customer.first_name), Customer.id)
            .limit(limit + 1)).all()
        if rows and rows[0][-1] > NAME_PROBE_CAP:
            return None
        if not rows and (session.scalar(select(func.cardinality(select(matched.c.ids).scalar_subquery())))
                         or 0) > NAME_PROBE_CAP:
            return None  # nothing after the keyset among the first matches, but there are more than the cap
        found = [CustomerRow(*row[:-1]) for row in rows]
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
                # The reversed phones that start with the reversed digits: one range of customers_phone_reverse_idx,
                # read in customer_phone_suffix_ids (0018) as the owner within the caller's branches, because
                # under the branches' row-level security reverse() (not leakproof) could not be used on the index.
                suffix = func.customer_phone_suffix_ids(digits[::-1], PHONE_SUFFIX_CAP)
                exact.append(Customer.id == any_(_once(suffix)))
        return exact

    def _search_statement(self, text: str) -> Select[Any]:
        base = select(*_ROW_COLUMNS)
        if _CUSTOMER_NUMBER.match(text):
            return base.where(Customer.customer_number == _normalized_number(text, "C"))
        if _LOAN_NUMBER.match(text):
            loan_customer = select(Loan.customer_id).where(Loan.loan_number == _normalized_number(text, "L"))
            return base.where(Customer.id.in_(loan_customer.scalar_subquery()))
        # Digits and signs alone (no name: see search) are a phone or national ID, found by their own indexes.
        return base.where(or_(*self._exact(text)))

    def get(self, customer_id: int) -> CustomerDetail:
        # One message (db/one_trip.py): the customer and their loans, read as after a save.
        kept, customer, loans = self.statements_in_one_trip(
            (text("SELECT set_config('astrofin.result', CAST(:id AS text), true)"), _CUSTOMER, _CUSTOMER_LOANS),
            {"id": customer_id})
        if not customer:
            raise NotFound(f"customer {customer_id} does not exist")
        return _detail(customer[0], loans)

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
        save created (its reply may have been lost after the commit) instead of creating a second one.

        One round trip (db/one_trip.py): the insert, guarded by the key and the national ID in one statement
        (_CREATE), then the read of the customer it names."""
        cleaned = self._checked(data, today)
        check_idempotency_key(idempotency_key, "first_name")
        saved, taken, customer, loans = self.statements_in_one_trip(
            (_CREATE, _KEY_TAKEN, _CUSTOMER, _CUSTOMER_LOANS),
            {**cleaned.__dict__, "user": self.actor.user_id, "key": idempotency_key})
        outcome = saved[0]
        if outcome.prior_found and outcome.prior_by != self.actor.user_id:
            raise ValidationError({"first_name": KEY_OF_ANOTHER})
        if outcome.clash:
            raise ValidationError({"national_id": f"customer {outcome.clash} already has this national ID"})
        if not customer:  # a save with the same key, committed while this one waited, is another person's
            raise ValidationError({"first_name": KEY_OF_ANOTHER})
        assert not taken or taken[0].created_by == self.actor.user_id
        return _detail(customer[0], loans)

    def update(self, customer_id: int, data: CustomerInput, *, today: date) -> CustomerDetail:
        """Save the customer's changes (nothing when nothing changed), in one round trip as create does."""
        cleaned = self._checked(data, today)
        saved, customer, loans = self.statements_in_one_trip(
            (_UPDATE, _CUSTOMER, _CUSTOMER_LOANS), {**cleaned.__dict__, "id": customer_id})
        outcome = saved[0]
        if not outcome.found:
            raise NotFound(f"customer {customer_id} does not exist")
        if outcome.clash:
            raise ValidationError({"national_id": f"customer {outcome.clash} already has this national ID"})
        return _detail(customer[0], loans)

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
