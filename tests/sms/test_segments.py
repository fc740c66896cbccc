"""Segment counting and template rendering: what staff see before a message costs money."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.seed import SMS_TEMPLATES
from db.sms.segments import segments
from db.sms.templates import TemplateError, placeholders, preview, render


def test_160_gsm7_characters_are_one_sms_and_161_are_two():
    assert segments("a" * 160).segments == 1
    info = segments("a" * 161)
    assert (info.encoding, info.characters, info.units, info.segments, info.per_segment) == ("GSM-7", 161, 161, 2,
                                                                                            153)
    assert segments("a" * 306).segments == 2
    assert segments("a" * 307).segments == 3


def test_euro_and_the_extension_table_count_two():
    info = segments("€")
    assert (info.encoding, info.characters, info.units, info.segments) == ("GSM-7", 1, 2, 1)
    assert segments("€" * 80).segments == 1
    assert segments("€" * 80 + "a").segments == 2
    for ch in "^{}\\[~]|":
        assert segments(ch).units == 2


def test_an_escape_pair_never_straddles_two_parts():
    # 152 plain characters then €: the € does not fit in the first part's last septet.
    info = segments("a" * 152 + "€" + "b" * 10)
    assert info.units == 164 and info.segments == 2
    assert segments("a" * 152 + "€" + "b" * 152).segments == 3


def test_an_emoji_makes_the_message_ucs2():
    info = segments("Habari 😀")
    assert (info.encoding, info.characters, info.units, info.segments) == ("UCS-2", 8, 9, 1)
    assert segments("😀" * 35).segments == 1
    assert segments("😀" * 36).segments == 2  # 72 units > 70; parts of 67 units, never splitting a pair
    assert segments("a" * 70 + "ł").segments == 2
    assert segments("ł" * 70).segments == 1
    assert segments("ł" * 134).segments == 2
    assert segments("ł" * 135).segments == 3


def test_gsm7_accented_letters_stay_gsm7_and_others_do_not():
    assert segments("Café à Göteborg ñ").encoding == "GSM-7"
    assert segments("Ç").encoding == "GSM-7"
    assert segments("ç").encoding == "UCS-2"  # only the capital is in the GSM-7 alphabet
    assert segments("").segments == 0


def test_render_fills_placeholders_and_formats_money():
    text = render("Dear {first_name}, pay {amount_overdue} on loan {loan_number}.",
                  {"first_name": "Amina", "amount_overdue": Decimal("1234.5"), "loan_number": "L-000042"})
    assert text == "Dear Amina, pay 1,234.50 on loan L-000042."


def test_render_refuses_an_unknown_placeholder_and_names_it():
    with pytest.raises(TemplateError, match=r"uses \{balance\}, which cannot be filled here; known placeholders: "
                                            r"\{first_name\}"):
        render("Dear {first_name}, balance {balance}", {"first_name": "Amina"})


@pytest.mark.parametrize("template", ["Dear {first_name", "Dear {0}", "Dear {first_name!r}", "{a.b}",
                                      "{amount:.2f}"])
def test_render_refuses_odd_placeholders(template):
    with pytest.raises(TemplateError):
        render(template, {"first_name": "A", "amount": 1, "a": "x"})


def test_literal_braces_are_kept():
    assert render("{{not a field}} {x}", {"x": 1}) == "{not a field} 1"


def test_seeded_templates_use_plain_placeholders():
    for _name, _event, body in SMS_TEMPLATES:
        assert placeholders(body)


def test_preview_reports_a_long_message_with_its_segment_count():
    shown = preview("{greeting} " + "x" * 160, {"greeting": "Habari"})
    assert shown.info.segments == 2 and shown.info.describe() == "167 characters, GSM-7, 2 SMS parts"
