"""An admin sets a product's late penalty rule; what is typed wrong is refused beside its field, nothing saved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.errors import ValidationError
from db.repositories.products import ProductForm, ProductRepository
from tests.penalties.book import staff

BASE = {"code": "LATE-RULE", "name": "Late rule", "interest_method": "declining_balance",
        "repayment_frequency": "monthly", "fee_percent": "0", "fee_flat": "0"}


def test_an_admin_sets_and_edits_the_rule(engine: Engine, app_engine: Engine) -> None:
    repo = ProductRepository(app_engine, staff(engine)["admin"])
    made = repo.create(ProductForm(**BASE, penalty_method="percent_of_overdue_installment", penalty_value="5",
                                   penalty_grace_days="3", penalty_interval_days="7", penalty_cap="100"))
    assert (made.penalty_method, made.penalty_value, made.penalty_grace_days, made.penalty_interval_days,
            made.penalty_cap) == ("percent_of_overdue_installment", Decimal("5"), 3, 7, Decimal("100.00"))
    form = ProductForm.of(made)
    assert (form.penalty_value, form.penalty_grace_days, form.penalty_interval_days, form.penalty_cap) == (
        "5", "3", "7", "100.00")
    changed = repo.update(made.id, ProductForm(**{**vars(form), "penalty_method": "flat", "penalty_value": "50.5",
                                                  "penalty_interval_days": "", "penalty_cap": ""}))
    assert (changed.penalty_method, changed.penalty_value, changed.penalty_interval_days, changed.penalty_cap) == (
        "flat", Decimal("50.5"), None, None)
    plain = repo.create(ProductForm(**{**BASE, "code": "NO-RULE"}))
    assert (plain.penalty_method, plain.penalty_value, plain.penalty_grace_days) == ("none", Decimal("0"), 0)


@pytest.mark.parametrize(("typed", "field", "words"), [
    ({"penalty_method": "flat", "penalty_value": "-1"}, "penalty_value", "negative"),
    ({"penalty_method": "flat", "penalty_value": "abc"}, "penalty_value", "use digits"),
    ({"penalty_method": "flat", "penalty_value": "1.005"}, "penalty_value", "decimals"),
    ({"penalty_method": "flat", "penalty_value": ""}, "penalty_value", "type the amount"),
    ({"penalty_method": "percent_of_overdue_principal", "penalty_value": "150"}, "penalty_value", "at most 100"),
    ({"penalty_method": "<b>bold</b>"}, "penalty_method", "choose"),
    ({"penalty_method": "flat", "penalty_value": "5", "penalty_grace_days": "x"}, "penalty_grace_days", "whole"),
    ({"penalty_method": "flat", "penalty_value": "5", "penalty_interval_days": "0"}, "penalty_interval_days",
     "from 1"),
    ({"penalty_method": "flat", "penalty_value": "5", "penalty_cap": "1.001"}, "penalty_cap", "decimals"),
])
def test_bad_rules_are_refused_beside_the_field(engine: Engine, app_engine: Engine, typed: dict[str, str],
                                                field: str, words: str) -> None:
    repo = ProductRepository(app_engine, staff(engine)["admin"])
    with pytest.raises(ValidationError) as info:
        repo.create(ProductForm(**BASE, **typed))
    assert field in info.value.fields and words in info.value.fields[field], info.value.fields
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loan_products WHERE code = 'LATE-RULE'")).scalar() == 0
