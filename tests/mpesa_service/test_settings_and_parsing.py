"""The service's settings and its reading of a callback: no database."""

from __future__ import annotations

import ipaddress
from decimal import Decimal

import pytest

from db.config import ConfigError, load_settings
from db.mpesa.daraja import OTHER_ERROR, BadCallback, client_address, parse_amount, parse_callback, parse_time
from db.mpesa.daraja_settings import DarajaSettings, daraja_settings
from tests.mpesa_service.conftest import TOKEN, body


def test_the_defaults_allow_safaricom_only_and_trust_the_local_proxy(tmp_path):
    settings = load_settings(env={"ASTROFIN_MPESA_TOKEN": TOKEN}, user_file=tmp_path / "none.json")
    config = daraja_settings(settings)
    assert (config.user, config.max_body_bytes, config.concurrency) == ("mpesa", 16384, 50)
    assert config.source_allowed(ipaddress.ip_address("196.201.214.200"))
    assert config.source_allowed(ipaddress.ip_address("196.201.212.5"))
    assert not config.source_allowed(ipaddress.ip_address("203.0.113.9"))
    assert config.trusted_proxy(ipaddress.ip_address("127.0.0.1"))
    assert not config.trusted_proxy(ipaddress.ip_address("196.201.214.200"))
    assert TOKEN not in str(settings.masked()) and TOKEN not in str(config.masked())


def test_any_source_from_the_environment_or_an_empty_list_in_the_user_file(tmp_path):
    env = {"ASTROFIN_MPESA_TOKEN": TOKEN, "MPESA_ALLOWED_SOURCES": "any", "MPESA_MAX_BODY_BYTES": "4096"}
    config = daraja_settings(load_settings(env=env, user_file=tmp_path / "none.json"))
    assert config.allowed_sources == () and config.max_body_bytes == 4096
    assert config.source_allowed(ipaddress.ip_address("203.0.113.9"))
    user_file = tmp_path / "database.config.json"
    user_file.write_text('{"mpesa": {"allowed_sources": [], "trusted_proxies": ["10.0.0.0/8"]}}')
    config = daraja_settings(load_settings(env={"ASTROFIN_MPESA_TOKEN": TOKEN}, user_file=user_file))
    assert config.allowed_sources == ()
    assert config.trusted_proxy(ipaddress.ip_address("10.1.2.3"))


@pytest.mark.parametrize(("env", "message"), [
    ({}, "the M-Pesa callback token is not set: set ASTROFIN_MPESA_TOKEN"),
    ({"ASTROFIN_MPESA_TOKEN": "short"}, "at least 16"),
    ({"ASTROFIN_MPESA_TOKEN": "a/b" * 10}, "letters, digits"),
    ({"ASTROFIN_MPESA_TOKEN": TOKEN, "MPESA_ALLOWED_SOURCES": "196.201.214.0/24, safaricom"},
     "mpesa.allowed_sources must hold IP addresses or networks"),
    ({"ASTROFIN_MPESA_TOKEN": TOKEN, "MPESA_MAX_BODY_BYTES": "lots"}, "mpesa.max_body_bytes must be a whole number"),
])
def test_bad_settings_are_named(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        daraja_settings(load_settings(env=env, user_file=tmp_path / "none.json"))


def test_a_callback_as_daraja_sends_it():
    callback = parse_callback(body(receipt=" rktqdm7w6s ", amount="1500.00", account=" L-000001 "))
    assert callback.receipt_number == "RKTQDM7W6S"
    assert callback.amount == Decimal("1500.00") and callback.account_reference == "L-000001"
    assert callback.payer_name == "WANJIKU KAMAU" and callback.payer_phone == "2547 ***** 126"
    assert callback.short_code == "600984" and callback.transaction_type == "Pay Bill"
    assert parse_time("20261130140512").isoformat() == "2026-11-30T14:05:12+03:00"
    assert parse_callback(body(account="")).account_reference == ""


@pytest.mark.parametrize(("value", "amount"), [("1500.00", "1500.00"), ("1500", "1500.00"), (1500, "1500.00"),
                                               (1500.5, "1500.50"), ("0.01", "0.01"), ("999999999999.99", None)])
def test_amounts_are_taken_as_written(value, amount):
    assert parse_amount(value) == Decimal(amount or str(value))


@pytest.mark.parametrize(("value", "problem"), [
    (None, "missing"), ("", "missing"), ("-100.00", "more than 0"), ("0.00", "more than 0"), (0, "more than 0"),
    ("abc", "an amount such as"), ("1,500.00", "an amount such as"), ("1e3", "an amount such as"),
    ("NaN", "an amount such as"), (float("inf"), "an amount such as"), (True, "an amount such as"),
    ("1500.005", "more than 2 decimals"), ("1000000000000.00", "an amount such as"), ({"a": 1}, "an amount"),
])
def test_bad_amounts_are_refused_with_the_invalid_amount_code(value, problem):
    with pytest.raises(BadCallback, match=problem) as refused:
        parse_amount(value)
    assert refused.value.code == "C2B00013"


@pytest.mark.parametrize(("fields", "problem"), [
    ({"TransID": None}, "TransID is missing"), ({"TransID": "RK-TQ/DM"}, "TransID must be"),
    ({"TransTime": "2026-11-30 14:05"}, "TransTime must be YYYYMMDDHHMMSS"),
    ({"TransTime": "20261331140512"}, "not a real date"), ({"TransTime": None}, "TransTime is missing"),
    ({"BusinessShortCode": ""}, "BusinessShortCode is missing"), ({"BillRefNumber": ["L-1"]}, "must be text"),
    ({"BillRefNumber": "x" * 101}, "longer than 100"),
])
def test_bad_fields_are_refused_with_the_other_error_code(fields, problem):
    with pytest.raises(BadCallback, match=problem) as refused:
        parse_callback(body(**fields))
    assert refused.value.code == OTHER_ERROR


def test_the_caller_is_believed_from_x_forwarded_for_only_behind_a_trusted_proxy():
    config = DarajaSettings(callback_token=TOKEN, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),
                                                                    ipaddress.ip_network("10.0.0.0/8")))
    safaricom = ipaddress.ip_address("196.201.214.200")
    assert client_address("196.201.214.200", [], config) == safaricom
    assert client_address("127.0.0.1", ["196.201.214.200"], config) == safaricom
    # The proxies' own hops are passed over; what the caller wrote before them is not believed.
    assert client_address("127.0.0.1", ["196.201.214.200, 10.0.0.7"], config) == safaricom
    assert client_address("127.0.0.1", ["196.201.214.200", "203.0.113.9"], config) == ipaddress.ip_address(
        "203.0.113.9")
    # A caller that is not a trusted proxy cannot pretend to be Safaricom.
    assert client_address("203.0.113.9", ["196.201.214.200"], config) == ipaddress.ip_address("203.0.113.9")
    assert client_address("127.0.0.1", ["not-an-address"], config) is None
    assert client_address("testclient", [], config) is None
    assert client_address("::ffff:196.201.214.200", [], config) == safaricom
