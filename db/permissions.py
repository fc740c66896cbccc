"""Who may do what: the capability matrix of docs/database.md as data, and the screens each capability opens.

Pure Python: the interface reads it to offer only what a role may use, and the database enforces the same
matrix with its grants, so hiding something here is never the only protection.
"""

from __future__ import annotations

from dataclasses import dataclass

VIEW_CUSTOMERS = "view_customers"
EDIT_CUSTOMERS = "edit_customers"
CREATE_APPLICATIONS = "create_applications"
APPROVE_LOANS = "approve_loans"
DISBURSE_LOANS = "disburse_loans"
RECORD_PAYMENTS = "record_payments"
REVERSE_PAYMENTS = "reverse_payments"
OVERDUE_QUEUE = "overdue_queue"
WRITE_OFF = "write_off"
ACCOUNTING_READ = "accounting_read"
ACCOUNTING_WRITE = "accounting_write"
REPORTS = "reports"
ADMINISTRATION = "administration"
MANAGE_TILLS = "manage_tills"
HOLD_TILL = "hold_till"
"""Open and count a till session of one's own: the counter's drawer, or a loan officer's field session carrying a
meeting's cash (the home screen's till line, o and c)."""
COLLECTION_SHEETS = "collection_sheets"
MOBILE_MONEY_SUSPENSE = "mobile_money_suspense"
"""The M-Pesa suspense queue: apply a receipt that waits there to a loan, or record its refund (0024), and the
day's reconciliation of the statements."""
IMPORT_FILES = "import_files"
"""The back office import screen: an M-Pesa statement, customers, loans or repayments from a file; each importer's
database functions decide what the role may write."""

CAPABILITIES: tuple[str, ...] = (
    VIEW_CUSTOMERS, EDIT_CUSTOMERS, CREATE_APPLICATIONS, APPROVE_LOANS, DISBURSE_LOANS, RECORD_PAYMENTS,
    REVERSE_PAYMENTS, OVERDUE_QUEUE, WRITE_OFF, ACCOUNTING_READ, ACCOUNTING_WRITE, REPORTS, ADMINISTRATION,
    MANAGE_TILLS, HOLD_TILL, COLLECTION_SHEETS, MOBILE_MONEY_SUSPENSE, IMPORT_FILES,
)

ROLES: tuple[str, ...] = ("cashier", "loan_officer", "supervisor", "accountant", "admin")

ROLE_LABELS: dict[str, str] = {
    "cashier": "Cashier",
    "loan_officer": "Loan officer",
    "supervisor": "Supervisor",
    "accountant": "Accountant",
    "admin": "Administrator",
}

# docs/database.md, "Who may do what". Nobody both moves money and administers users; the admin moves no money.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "cashier": frozenset({VIEW_CUSTOMERS, DISBURSE_LOANS, RECORD_PAYMENTS, HOLD_TILL, COLLECTION_SHEETS}),
    "loan_officer": frozenset({VIEW_CUSTOMERS, EDIT_CUSTOMERS, CREATE_APPLICATIONS, OVERDUE_QUEUE, REPORTS, HOLD_TILL,
                               COLLECTION_SHEETS}),
    "supervisor": frozenset({
        VIEW_CUSTOMERS, EDIT_CUSTOMERS, CREATE_APPLICATIONS, APPROVE_LOANS, DISBURSE_LOANS, RECORD_PAYMENTS,
        REVERSE_PAYMENTS, OVERDUE_QUEUE, WRITE_OFF, ACCOUNTING_READ, REPORTS, MANAGE_TILLS, HOLD_TILL,
        COLLECTION_SHEETS, MOBILE_MONEY_SUSPENSE, IMPORT_FILES,
    }),
    "accountant": frozenset({VIEW_CUSTOMERS, ACCOUNTING_READ, ACCOUNTING_WRITE, REPORTS, MOBILE_MONEY_SUSPENSE,
                             IMPORT_FILES}),
    "admin": frozenset({VIEW_CUSTOMERS, ADMINISTRATION, IMPORT_FILES}),
}


@dataclass(frozen=True)
class ScreenSpec:
    """A screen reachable from home, the palette and a function key."""

    name: str
    title: str
    """What home, the palette and the footer call the screen (short enough for an 80-column footer)."""
    capability: str
    key: str
    """The key that opens it from anywhere: a function key (F1, F10 and F11 are left to the terminal), or a
    control key once the function keys are taken."""
    key_label: str
    """The word the footer shows beside the key: the title itself, so the footer and home name a screen alike."""
    description: str

    @property
    def key_display(self) -> str:
        """'F2', or '^T' for ctrl+t: what the footer and home show."""
        return "^" + self.key[5:].upper() if self.key.startswith("ctrl+") else self.key.upper()


SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec("customer_lookup", "Find", VIEW_CUSTOMERS, "f2", "Find",
               "Search by name, phone, national ID, customer or loan number"),
    ScreenSpec("payment_entry", "Payment", RECORD_PAYMENTS, "f3", "Payment",
               "Take a repayment, see how it is split, print the receipt"),
    ScreenSpec("overdue_queue", "Overdue", OVERDUE_QUEUE, "f4", "Overdue",
               "Loans by days past due; send reminders; export CSV"),
    ScreenSpec("customer_form", "New customer", EDIT_CUSTOMERS, "f5", "New customer",
               "Create or edit a customer, checked field by field"),
    ScreenSpec("loan_application", "New loan", CREATE_APPLICATIONS, "f6", "New loan",
               "Terms and purpose, with the schedule preview"),
    ScreenSpec("loan_detail", "Loan", VIEW_CUSTOMERS, "f7", "Loan",
               "Terms, schedule, transactions and status of a loan"),
    ScreenSpec("accounting", "Accounting", ACCOUNTING_READ, "f8", "Accounting",
               "Chart of accounts, journal, trial balance, daily transactions"),
    ScreenSpec("reports", "Reports", REPORTS, "f9", "Reports",
               "PAR1/PAR30/PAR90, aging buckets, monthly summary"),
    ScreenSpec("administration", "Admin", ADMINISTRATION, "f12", "Admin",
               "Users, SMS templates and outbox, audit log, backup, maintenance"),
    ScreenSpec("till_overview", "Tills", MANAGE_TILLS, "ctrl+t", "Tills",
               "Today's till sessions, approve counts that differ, the vault, the branch's tills"),
    ScreenSpec("collection_sheet", "Collection sheet", COLLECTION_SHEETS, "ctrl+g", "Collection sheet",
               "A group's or center's meeting: what each member paid, posted at once, then the receipts"),
    # ctrl+z and ctrl+y: the control keys no field types (Input keeps ctrl+a/e/k/u/w/d/x/v/c) and fewest screens
    # use for themselves (only the accounting screen's close period takes ctrl+y there).
    ScreenSpec("mobile_money_suspense", "M-Pesa suspense", MOBILE_MONEY_SUSPENSE, "ctrl+z", "M-Pesa suspense",
               "M-Pesa receipts no loan took: apply one to a loan or record its refund; the day's reconciliation"),
    ScreenSpec("import_file", "Import a file", IMPORT_FILES, "ctrl+y", "Import a file",
               "An M-Pesa statement, customers, loans or repayments from a CSV file, with its report"),
)

SCREENS_BY_NAME: dict[str, ScreenSpec] = {spec.name: spec for spec in SCREENS}


def capabilities(role: str) -> frozenset[str]:
    """The capabilities of a role; an unknown role has none."""
    return ROLE_CAPABILITIES.get(role, frozenset())


def can(role: str, capability: str) -> bool:
    return capability in capabilities(role)


def may_open(role: str, screen: str) -> bool:
    """Whether the role may open the named screen; an unknown screen is opened by nobody."""
    spec = SCREENS_BY_NAME.get(screen)
    return spec is not None and can(role, spec.capability)


def screens_for(role: str) -> tuple[ScreenSpec, ...]:
    """The screens a role may open, in function-key order."""
    return tuple(spec for spec in SCREENS if can(role, spec.capability))


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)
