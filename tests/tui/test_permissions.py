"""The capability matrix is the table of docs/database.md, and its screens and keys are consistent."""

from __future__ import annotations

import pytest

from astrofin_tui.launch import low_bandwidth_wanted
from db import permissions as p

# docs/database.md, "Who may do what", row by row: (capability, roles).
MATRIX = {
    p.VIEW_CUSTOMERS: {"cashier", "loan_officer", "supervisor", "accountant", "admin"},
    p.EDIT_CUSTOMERS: {"loan_officer", "supervisor"},
    p.CREATE_APPLICATIONS: {"loan_officer", "supervisor"},
    p.APPROVE_LOANS: {"supervisor"},
    p.DISBURSE_LOANS: {"cashier", "supervisor"},
    p.RECORD_PAYMENTS: {"cashier", "supervisor"},
    p.REVERSE_PAYMENTS: {"supervisor"},
    p.OVERDUE_QUEUE: {"loan_officer", "supervisor"},
    p.WRITE_OFF: {"supervisor"},
    p.ACCOUNTING_READ: {"supervisor", "accountant"},
    p.ACCOUNTING_WRITE: {"accountant"},
    p.REPORTS: {"loan_officer", "supervisor", "accountant"},
    p.ADMINISTRATION: {"admin"},
    p.MANAGE_TILLS: {"supervisor"},
    p.HOLD_TILL: {"cashier", "loan_officer", "supervisor"},
    p.COLLECTION_SHEETS: {"cashier", "loan_officer", "supervisor"},
    p.MOBILE_MONEY_SUSPENSE: {"supervisor", "accountant"},
    p.IMPORT_FILES: {"supervisor", "accountant", "admin"},
}


@pytest.mark.parametrize("capability", p.CAPABILITIES)
def test_matrix_matches_the_domain_table(capability: str) -> None:
    assert {role for role in p.ROLES if p.can(role, capability)} == MATRIX[capability]


def test_nobody_moves_money_and_administers() -> None:
    money = {p.RECORD_PAYMENTS, p.DISBURSE_LOANS, p.REVERSE_PAYMENTS, p.WRITE_OFF, p.ACCOUNTING_WRITE}
    for role in p.ROLES:
        assert not (p.can(role, p.ADMINISTRATION) and money & p.capabilities(role)), role


def test_screens_and_keys() -> None:
    assert len({spec.key for spec in p.SCREENS}) == len(p.SCREENS)
    assert not {"f1", "f10", "f11"} & {spec.key for spec in p.SCREENS}  # the terminal's own keys
    keys = {spec.name: spec.key for spec in p.SCREENS}
    assert (keys["customer_lookup"], keys["payment_entry"], keys["overdue_queue"]) == ("f2", "f3", "f4")
    assert [s.name for s in p.screens_for("cashier")] == ["customer_lookup", "payment_entry", "loan_detail",
                                                          "collection_sheet"]
    assert [s.name for s in p.screens_for("admin")] == ["customer_lookup", "loan_detail", "administration",
                                                        "import_file"]
    assert p.may_open("supervisor", "accounting") and p.may_open("accountant", "accounting")
    assert not p.may_open("cashier", "accounting") and not p.may_open("cashier", "administration")
    assert not p.may_open("admin", "nonexistent") and not p.may_open("nobody", "customer_lookup")


def test_low_bandwidth_profile_switch() -> None:
    assert low_bandwidth_wanted(False, {}) is False
    assert low_bandwidth_wanted(True, {}) is True
    assert low_bandwidth_wanted(False, {"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}) is True
    assert low_bandwidth_wanted(True, {"ASTROFIN_PROFILE": "local"}) is False
    assert low_bandwidth_wanted(False, {"ASTROFIN_PROFILE": "ssh"}) is True
