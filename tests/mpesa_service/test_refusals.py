"""Every refusal: the right status, nothing written, one line in the log (and never the token).

Each test goes through its cases on one database (a database costs more than a case)."""

from __future__ import annotations

import ipaddress
import json

from starlette.testclient import TestClient

from tests.mpesa_service.conftest import TOKEN, body, receipts

CONFIRMATION = f"/mpesa/{TOKEN}/confirmation"
SAFARICOM = (ipaddress.ip_network("196.201.214.0/24"),)


def _refused(engine, log_lines, status: int, answer) -> str:
    """The one log line of the refusal (taken from the list)."""
    assert answer.status_code == status, answer.text
    assert receipts(engine) == []
    assert len(log_lines.lines) == 1, log_lines.lines
    line = log_lines.lines.pop()
    assert f"refused {status}" in line and TOKEN not in line
    return line


def test_a_wrong_token_is_not_found(make_app, engine, log_lines):
    with TestClient(make_app()) as client:
        for path in ("/mpesa/wrong-token-0123456789/confirmation", "/mpesa/wrong-token/validation",
                     f"/mpesa/{TOKEN}x/confirmation", f"/mpesa/{TOKEN[:-1]}/confirmation", f"/mpesa/{TOKEN.upper()}"
                     "/validation"):
            answer = client.post(path, json=body())
            assert answer.text == "Not Found"  # as if nothing were there
            _refused(engine, log_lines, 404, answer)


def test_a_source_outside_the_allow_list_is_forbidden_and_x_forwarded_for_counts_behind_the_proxy_only(
        make_app, engine, log_lines):
    with TestClient(make_app(allowed_sources=SAFARICOM), client=("203.0.113.9", 40000)) as client:
        assert "203.0.113.9" in _refused(engine, log_lines, 403, client.post(CONFIRMATION, json=body()))
        # Not a proxy: its X-Forwarded-For counts for nothing.
        _refused(engine, log_lines, 403, client.post(CONFIRMATION, json=body(),
                                                     headers={"X-Forwarded-For": "196.201.214.200"}))
    with TestClient(make_app(allowed_sources=SAFARICOM), client=("127.0.0.1", 40000)) as client:
        # The local proxy passes on another caller's request.
        _refused(engine, log_lines, 403, client.post(CONFIRMATION, json=body(),
                                                     headers={"X-Forwarded-For": "203.0.113.9"}))
        _refused(engine, log_lines, 403, client.post(CONFIRMATION, json=body(),
                                                     headers={"X-Forwarded-For": "not-an-address"}))


def test_a_body_over_the_limit_is_refused_before_it_is_read(make_app, engine, log_lines):
    big = json.dumps(body(FirstName="x" * 1_000_000)).encode()
    just_over = json.dumps(body(FirstName="x" * 16_384)).encode()
    with TestClient(make_app()) as client:
        _refused(engine, log_lines, 413, client.post(CONFIRMATION, content=big,
                                                     headers={"Content-Type": "application/json"}))
        # No Content-Length: the stream is counted as it arrives.
        _refused(engine, log_lines, 413, client.post(
            CONFIRMATION, content=iter([big[i:i + 65536] for i in range(0, len(big), 65536)])))
        _refused(engine, log_lines, 413, client.post(CONFIRMATION, content=iter([just_over])))


def test_a_body_that_is_not_a_json_object_is_a_bad_request(make_app, engine, log_lines):
    cases = [(b"{not json", "not JSON"), (b"\xff\xfe", "not JSON"), (b"", "not JSON"),
             (b"[1, 2]", "not a JSON object"), (b'"TransID"', "not a JSON object")]
    with TestClient(make_app()) as client:
        for content, problem in cases:
            answer = client.post(CONFIRMATION, content=content, headers={"Content-Type": "application/json"})
            _refused(engine, log_lines, 400, answer)
            assert answer.json() == {"ResultCode": "C2B00016", "ResultDesc": f"the body is {problem}"}


def test_a_confirmation_with_a_missing_or_bad_field_is_a_bad_request(make_app, engine, log_lines):
    cases = [
        ({"TransID": None}, "TransID is missing"),
        ({"TransAmount": None}, "TransAmount is missing"),
        ({"TransTime": None}, "TransTime is missing"),
        ({"BusinessShortCode": None}, "BusinessShortCode is missing"),
        ({"TransAmount": "-1500.00"}, "TransAmount must be more than 0"),
        ({"TransAmount": -1500}, "TransAmount must be more than 0"),
        ({"TransAmount": "0.00"}, "TransAmount must be more than 0"),
        ({"TransAmount": "fifteen hundred"}, "TransAmount must be an amount"),
        ({"TransAmount": "1500.001"}, "TransAmount has more than 2 decimals"),
        ({"TransTime": "30/11/2026 14:05"}, "TransTime must be YYYYMMDDHHMMSS"),
        ({"TransTime": "20261130250512"}, "TransTime is not a real date"),
    ]
    with TestClient(make_app()) as client:
        for fields, problem in cases:
            data = {key: value for key, value in body(**fields).items() if value is not None}
            answer = client.post(CONFIRMATION, json=data)
            _refused(engine, log_lines, 400, answer)
            assert answer.json()["ResultCode"] == "C2B00016" and problem in answer.json()["ResultDesc"], problem
