"""HTTP with the standard library, every failure sorted by what it means for the message.

- `NotDelivered`: the request never reached the gateway whole (connection refused, no route, DNS, a
  timeout while connecting or sending): trying again cannot send the message twice.
- `NoAnswer`: the request was sent but no full answer came back (a read timeout, a dropped connection):
  the gateway may have accepted the message.
- An HTTP answer of any status comes back as `Answer`; the provider decides what it means.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY = 1_000_000


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str

    def snippet(self, limit: int = 200) -> str:
        """The start of the body for an error message (one line)."""
        shown = self.body[:limit].decode("utf-8", "replace")
        return " ".join(shown.split()) or "(empty)"


class TransportError(Exception):
    """No usable HTTP answer. The message is safe to store: it never holds credentials."""


class NotDelivered(TransportError):
    pass


class NoAnswer(TransportError):
    pass


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _opener(url: str) -> urllib.request.OpenerDirector:
    # A local gateway (tests, a relay on the same host) is reached directly, whatever proxy the shell sets.
    proxies = urllib.request.ProxyHandler({}) if _is_loopback(url) else urllib.request.ProxyHandler()
    return urllib.request.build_opener(proxies)


def _describe(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out while connecting"
    if isinstance(reason, socket.gaierror):
        return "the gateway's host name could not be resolved"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def request(method: str, url: str, *, form: Mapping[str, str] | None = None,
            headers: Mapping[str, str] | None = None, timeout: float) -> Answer:
    """One HTTP request; an answer with any status, or a TransportError saying whether it may have arrived."""
    data = urllib.parse.urlencode(dict(form)).encode("utf-8") if form is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    where = urllib.parse.urlsplit(url).netloc
    try:
        with _opener(url).open(req, timeout=timeout) as response:
            return Answer(response.status, response.read(MAX_BODY), response.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(MAX_BODY)
        except (OSError, http.client.HTTPException):
            body = b""
        return Answer(exc.code, body, exc.headers.get("Content-Type", "") if exc.headers else "")
    except urllib.error.URLError as exc:
        # urllib wraps only failures while connecting and sending the request.
        raise NotDelivered(f"could not reach the gateway at {where}: {_describe(exc.reason)}") from None
    except TimeoutError:
        raise NoAnswer(f"the gateway at {where} took the request but did not answer within {timeout:g} s") \
            from None
    except (http.client.HTTPException, ConnectionError, OSError) as exc:
        raise NoAnswer(f"the gateway at {where} took the request but the connection broke before its answer "
                       f"({type(exc).__name__})") from None
