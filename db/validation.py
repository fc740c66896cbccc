"""Field checks for what staff type, so a form can say what is wrong beside the field before saving.

The database checks the same rules again (constraints), whichever client writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NATIONAL_ID = re.compile(r"^[A-Za-z0-9-]{1,30}$")
ADULT_AGE = 18
NAME_MAX = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = "the reason contains control characters (tabs, line breaks, escapes); type it plainly"


def reason_problem(reason: str, missing: str) -> str | None:
    """Why a typed reason (a rejection, a write-off, a reversal) is refused, or None when it will do."""
    if not reason.strip():
        return missing
    if _CONTROL.search(reason):
        return CONTROL_MESSAGE
    return None


def normalize_phone(raw: str) -> str:
    """'+254 712-345 678' → '+254712345678'; spaces, dashes, dots and brackets are dropped."""
    return re.sub(r"[\s().-]", "", raw.strip())


def years_between(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class CustomerInput:
    first_name: str
    last_name: str
    national_id: str | None = None
    phone: str | None = None
    email: str | None = None
    date_of_birth: date | None = None
    gender: str | None = None
    address: str | None = None
    occupation: str | None = None

    def cleaned(self) -> CustomerInput:
        def opt(value: str | None) -> str | None:
            value = (value or "").strip()
            return value or None

        phone = opt(self.phone)
        return CustomerInput(
            first_name=self.first_name.strip(),
            last_name=self.last_name.strip(),
            national_id=opt(self.national_id),
            phone=normalize_phone(phone) if phone else None,
            email=opt(self.email),
            date_of_birth=self.date_of_birth,
            gender=opt(self.gender),
            address=opt(self.address),
            occupation=opt(self.occupation),
        )


def customer_problems(data: CustomerInput, today: date) -> dict[str, str]:
    """Field name → message, for every field that would be refused; empty when all is well."""
    problems: dict[str, str] = {}
    for name in ("first_name", "last_name"):
        value = getattr(data, name)
        label = name.replace("_", " ")
        if not value:
            problems[name] = f"the {label} is required"
        elif len(value) > NAME_MAX:
            problems[name] = f"the {label} has at most {NAME_MAX} characters"
        elif _CONTROL.search(value):
            problems[name] = f"the {label} contains control characters"
    if data.national_id and not NATIONAL_ID.match(data.national_id):
        problems["national_id"] = "a national ID has up to 30 letters, digits or '-'"
    if data.phone and not E164.match(data.phone):
        problems["phone"] = "use the international form, e.g. +254712345678"
    if data.email and (len(data.email) > 254 or not EMAIL.match(data.email)):
        problems["email"] = "the email address should look like name@example.com"
    if data.date_of_birth is not None:
        if data.date_of_birth >= today:
            problems["date_of_birth"] = "the date of birth must be in the past"
        elif years_between(data.date_of_birth, today) < ADULT_AGE:
            problems["date_of_birth"] = f"a customer must be at least {ADULT_AGE} years old"
        elif data.date_of_birth.year <= 1900:
            problems["date_of_birth"] = "the date of birth must be after 1900"
    if data.gender and data.gender not in ("female", "male", "other"):
        problems["gender"] = "choose female, male or other"
    if data.address and len(data.address) > 500:
        problems["address"] = "the address has at most 500 characters"
    elif data.address and _CONTROL.search(data.address):
        problems["address"] = "the address contains control characters (tabs, line breaks, escapes)"
    if data.occupation and len(data.occupation) > 100:
        problems["occupation"] = "the occupation has at most 100 characters"
    elif data.occupation and _CONTROL.search(data.occupation):
        problems["occupation"] = "the occupation contains control characters"
    return problems
