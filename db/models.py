"""Typed SQLAlchemy models of the eleven tables (queries only: the schema itself is owned by migrations).

Repositories query these and return plain dataclasses; screens never see a model or a session.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Money = Numeric(14, 2, asdecimal=True)


class Base(DeclarativeBase):
    type_annotation_map = {int: BigInteger, Decimal: Money, dict[str, Any]: JSONB}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str]
    password_hash: Mapped[str]
    full_name: Mapped[str]
    role: Mapped[str]
    is_active: Mapped[bool] = mapped_column(server_default="true")
    failed_login_count: Mapped[int] = mapped_column(server_default="0")
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_number: Mapped[str] = mapped_column(server_default="")
    first_name: Mapped[str]
    last_name: Mapped[str]
    national_id: Mapped[str | None]
    phone: Mapped[str | None]
    email: Mapped[str | None]
    date_of_birth: Mapped[date | None]
    gender: Mapped[str | None]
    address: Mapped[str | None]
    occupation: Mapped[str | None]
    status: Mapped[str] = mapped_column(server_default="active")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")
    idempotency_key: Mapped[str | None]  # revision 0008: made when the form opens, unique


class Loan(Base):
    __tablename__ = "loans"
    id: Mapped[int] = mapped_column(primary_key=True)
    loan_number: Mapped[str] = mapped_column(server_default="")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    principal_amount: Mapped[Decimal]
    interest_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    interest_method: Mapped[str]
    term: Mapped[int] = mapped_column()
    repayment_frequency: Mapped[str]
    status: Mapped[str] = mapped_column(server_default="pending")
    purpose: Mapped[str | None]
    application_date: Mapped[date] = mapped_column(server_default="now()")
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    rejected_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None]
    disbursement_date: Mapped[date | None]
    first_repayment_date: Mapped[date | None]
    closed_at: Mapped[datetime | None]
    written_off_at: Mapped[datetime | None]
    loan_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")
    idempotency_key: Mapped[str | None]  # revision 0008: made when the form opens, unique
    product_id: Mapped[int | None] = mapped_column(ForeignKey("loan_products.id"))  # revision 0014
    fee_amount: Mapped[Decimal] = mapped_column(server_default="0")  # worked out by the database
    group_id: Mapped[int | None]  # revision 0023: the group the loan was taken in (groups are kept by functions)


class Transaction(Base):
    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    transaction_type: Mapped[str]
    amount: Mapped[Decimal]
    principal_amount: Mapped[Decimal]
    interest_amount: Mapped[Decimal]
    penalty_amount: Mapped[Decimal]
    transaction_date: Mapped[date]
    receipt_number: Mapped[str | None]
    idempotency_key: Mapped[str | None]
    reverses_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    notes: Mapped[str | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    fee_amount: Mapped[Decimal] = mapped_column(server_default="0")  # revision 0014: collected at disbursement
    payment_method: Mapped[str] = mapped_column(server_default="cash")  # revision 0017: cash, mobile_money, bank
    payment_reference: Mapped[str | None]  # revision 0017: the M-Pesa code or bank reference
    till_session_id: Mapped[int | None]  # revision 0017: the till session cash went through


class LoanProduct(Base):
    """Revision 0014: the catalogue a loan application starts from."""

    __tablename__ = "loan_products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str]
    name: Mapped[str]
    interest_method: Mapped[str]
    repayment_frequency: Mapped[str]
    principal_min: Mapped[Decimal | None]
    principal_max: Mapped[Decimal | None]
    rate_min: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    rate_max: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    rate_default: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    term_min: Mapped[int | None] = mapped_column()
    term_max: Mapped[int | None] = mapped_column()
    term_default: Mapped[int | None] = mapped_column()
    fee_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4), server_default="0")
    fee_flat: Mapped[Decimal] = mapped_column(server_default="0")
    penalty_method: Mapped[str] = mapped_column(server_default="none")
    penalty_value: Mapped[Decimal] = mapped_column(Numeric(14, 4), server_default="0")
    penalty_grace_days: Mapped[int] = mapped_column(server_default="0")
    penalty_interval_days: Mapped[int | None] = mapped_column()
    penalty_cap: Mapped[Decimal | None]
    early_settlement_interest: Mapped[str] = mapped_column(server_default="current_period")
    is_active: Mapped[bool] = mapped_column(server_default="true")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")


class PaymentSchedule(Base):
    __tablename__ = "payment_schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    installment_number: Mapped[int] = mapped_column()
    due_date: Mapped[date]
    principal_due: Mapped[Decimal]
    interest_due: Mapped[Decimal]
    penalty_due: Mapped[Decimal]
    total_due: Mapped[Decimal]
    principal_paid: Mapped[Decimal]
    interest_paid: Mapped[Decimal]
    penalty_paid: Mapped[Decimal]
    total_paid: Mapped[Decimal]
    status: Mapped[str]
    paid_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")


class SmsTemplate(Base):
    __tablename__ = "sms_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    event_type: Mapped[str]
    template_text: Mapped[str]
    is_active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")


class SmsHistory(Base):
    __tablename__ = "sms_histories"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("sms_templates.id"))
    phone_number: Mapped[str]
    message: Mapped[str]
    status: Mapped[str] = mapped_column(server_default="queued")
    provider: Mapped[str | None]
    provider_message_id: Mapped[str | None]
    error_message: Mapped[str | None]
    attempts: Mapped[int] = mapped_column(server_default="0")
    sent_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")


class ChartOfAccount(Base):
    __tablename__ = "chart_of_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_code: Mapped[str]
    account_name: Mapped[str]
    account_type: Mapped[str]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("chart_of_accounts.id"))
    is_active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    updated_at: Mapped[datetime] = mapped_column(server_default="now()")


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_number: Mapped[str] = mapped_column(server_default="")
    entry_date: Mapped[date]
    description: Mapped[str]
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default="now()")


class JournalEntryDetail(Base):
    __tablename__ = "journal_entry_details"
    id: Mapped[int] = mapped_column(primary_key=True)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("chart_of_accounts.id"))
    debit: Mapped[Decimal]
    credit: Mapped[Decimal]
    description: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(server_default="now()")


class AuditLog(Base):
    __tablename__ = "audit_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str]
    record_id: Mapped[int | None]
    action: Mapped[str]
    old_values: Mapped[dict[str, Any] | None]
    new_values: Mapped[dict[str, Any] | None]
    changed_by: Mapped[int | None]
    db_role: Mapped[str]
    changed_at: Mapped[datetime]
    created_at: Mapped[datetime]
