"""Who may do what with the inbox, and who sees which receipts: the roles are enforced in the database, a branch
sees its own receipts, the head office the unmatched ones."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from db.engine import Actor, unit_of_work
from db.errors import NotFound, Refused
from db.repositories.mobile_money import MobileMoneyRepository
from tests.groups.book import GroupBook
from tests.mpesa.helpers import loan_number, receipt


def test_roles_are_refused_by_the_database(book: GroupBook, mpesa: Actor, engine: Engine) -> None:
    officer = MobileMoneyRepository(book.app, book.nrb.staff["officer"])
    with pytest.raises(Refused):
        officer.receive(receipt("ROLE1", "10.00", "x"))
    admin = MobileMoneyRepository(book.app, book.nrb.staff["admin"])
    with pytest.raises(Refused):
        admin.validate("x", Decimal("10"))
    repo = MobileMoneyRepository(book.app, mpesa)
    rid = repo.receive(receipt("ROLE2", "10.00", "nobody")).receipt_id
    with pytest.raises(Refused):
        officer.post(rid)
    repo.post(rid)
    cashier = MobileMoneyRepository(book.app, book.nrb.staff["cashier"])
    with pytest.raises(Refused, match="your role may not"):
        MobileMoneyRepository(book.app, mpesa).refund(rid, "R1", "a cashier may not")
    # In someone else's name: refused.
    with pytest.raises(DBAPIError) as other, unit_of_work(book.app, book.nrb.staff["cashier"]) as session:
        session.execute(text("SELECT * FROM mobile_money_post(:r, :u)"), {"r": rid, "u": mpesa.user_id})
    assert getattr(other.value.orig, "sqlstate", None) == "P0106"
    assert cashier.actor.role == "cashier"


def test_a_branch_sees_its_receipts_and_the_head_office_the_unmatched(book: GroupBook, mpesa: Actor,
                                                                      engine: Engine) -> None:
    repo = MobileMoneyRepository(book.app, mpesa)
    nrb_loan, msa_loan = loan_number(engine, book.nrb.loans[0]), loan_number(engine, book.msa.loans[0])
    for code, account in (("SEE1", nrb_loan), ("SEE2", msa_loan), ("SEE3", "nobody")):
        repo.post(repo.receive(receipt(code, "10.00", account)).receipt_id)

    def seen(actor: Actor) -> list[str]:
        with unit_of_work(book.app, actor) as session:
            return list(session.execute(text("SELECT receipt_number FROM mobile_money_receipts ORDER BY id"))
                        .scalars())

    assert seen(book.nrb.staff["supervisor"]) == ["SEE1"]
    assert seen(book.msa.staff["accountant"]) == ["SEE2"]
    assert seen(mpesa) == ["SEE1", "SEE2", "SEE3"]
    # The head office's suspense queue holds the unmatched one; a branch's holds none of it.
    assert [r.receipt_number for r in repo.suspense()] == ["SEE3"]
    assert MobileMoneyRepository(book.app, book.nrb.staff["supervisor"]).suspense() == []
    # A branch cannot post, apply or refund what it does not see.
    with pytest.raises(NotFound):
        MobileMoneyRepository(book.app, book.nrb.staff["supervisor"]).refund(
            repo.suspense()[0].id, "R1", "not ours")
    # A receipt a branch cashier receives naming another branch's loan matches nothing there: it waits in the branch.
    nrb_cashier = MobileMoneyRepository(book.app, book.nrb.staff["cashier"])
    posting = nrb_cashier.post(nrb_cashier.receive(receipt("SEE4", "10.00", msa_loan)).receipt_id)
    assert posting.status == "suspense" and posting.reason == f'no loan, customer or national ID "{msa_loan}"'
    with engine.connect() as conn:
        assert conn.execute(text("SELECT branch_id FROM mobile_money_receipts WHERE receipt_number = 'SEE4'")
                            ).scalar_one() == book.nrb.id
