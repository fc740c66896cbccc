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


KENYA_CODE = "254"
_KENYAN_NATIONAL = re.compile(r"^0?([17][0-9]{8})$")
"""A Kenyan mobile number as written at home: 0712 345 678 or 712 345 678 (also 01xx numbers)."""
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
PHONE_FORMS = ("write a Kenyan number as 0712 345 678, 712 345 678, 254 712 345 678 or +254 712 345 678, "
               "or another country's in international form with + and its code, e.g. +256 772 123 456")


def normalize_phone(raw: str) -> str:
    """A phone number as people write it, in E.164 ('+254712345678') when it is one.

    Spaces, dashes, dots and brackets are dropped. Kenyan numbers are recognised in every usual form:
    '0712 345 678', '712345678', '254712345678', '+254 712 345 678', '+254 0712 345 678', '00254712345678'
    (and 01xx numbers alike). Another country's number written with '+' (or '00') keeps its digits. Anything
    else comes back without its separators, and phone_problem says which forms are accepted.
    """
    compact = _PHONE_SEPARATORS.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        if compact.startswith("+" + KENYA_CODE) and (national := _KENYAN_NATIONAL.match(compact[4:])):
            return f"+{KENYA_CODE}{national.group(1)}"
        return compact
    if compact.startswith(KENYA_CODE) and (national := _KENYAN_NATIONAL.match(compact[3:])):
        return f"+{KENYA_CODE}{national.group(1)}"
    if national := _KENYAN_NATIONAL.match(compact):
        return f"+{KENYA_CODE}{national.group(1)}"
    return compact


def phone_problem(phone: str) -> str | None:
    """Why a phone (as normalize_phone left it) is refused, with the forms accepted; None when it will do.
    A Kenyan number (+254) has nine digits after the country code."""
    if not E164.match(phone):
        return PHONE_FORMS
    if phone.startswith("+" + KENYA_CODE) and len(phone) != 13:
        return "a Kenyan number has nine digits after +254 (or after its 0), e.g. +254 712 345 678"
    return None


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
    if data.phone and (problem := phone_problem(data.phone)):
        problems["phone"] = problem
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
