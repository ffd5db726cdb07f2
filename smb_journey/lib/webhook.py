"""Webhooks: sign a JSON body, judge a target URL, space the retries, POST.

A webhook delivery is a JSON body POSTed to a URL an admin configured, with
these headers:

- ``X-Smb-Timestamp``: Unix time of this try, in seconds;
- ``X-Smb-Signature``: ``sha256=`` and the hexadecimal HMAC-SHA256, keyed
  with the endpoint's secret, of ``<timestamp>.<body>`` (the body's exact
  bytes): the receiver recomputes it, compares in constant time and refuses
  an old timestamp (a replay);
- ``Idempotency-Key``: the delivery's key, the same on every try, so a
  receiver that answered but whose answer was lost dedupes the retry.

The target is refused (``TargetRefused``) unless it is an http(s) URL
without credentials whose host resolves only to public addresses: a
customer journey must not become a way to reach the server's own network
(loopback, private ranges, link-local with the cloud metadata service,
multicast, reserved), whatever spelling the URL uses (decimal or hex
addresses, IPv4-mapped IPv6, a name resolving to one of them). A host the
admin names explicitly is let through.

Between the check and the connection a name could be re-pointed to an
internal address (DNS rebinding): an http call therefore connects to the
address that was checked (``pinned_url``); an https call connects to the
name, and a rebound name fails the TLS handshake (the internal host has no
certificate for it) before any byte of the request leaves. What remains:
an https name rebound to an internal host that does hold a valid
certificate for it; a host in the allow-list, which is trusted whatever it
resolves to; and the environment's proxy settings, which requests follows
(the proxy then makes the connection).

Nothing here imports Odoo; nothing here logs (a secret must never reach a log).
"""

import hashlib
import hmac
import ipaddress
import socket
import time
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3

SIGNATURE_HEADER = "X-Smb-Signature"
TIMESTAMP_HEADER = "X-Smb-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "smb_journey-webhook/1.0"

# backoff: 1 minute after the first failed try, doubling, at most 6 hours
BACKOFF_BASE = 60
BACKOFF_CAP = 6 * 3600
# how much of a response is kept (characters)
EXCERPT_SIZE = 500


class TargetRefused(ValueError):
    """The URL is not a webhook target this server may call; the message says why."""


class Target(NamedTuple):
    url: str
    host: str
    port: int
    addresses: tuple  # the resolved addresses, as strings, all checked


class Response(NamedTuple):
    status_code: int  # 0: no response (timeout, connection failed)
    excerpt: str  # the start of the response body, at most EXCERPT_SIZE characters
    error: str  # why it failed without a response, else ""

    @property
    def ok(self):
        return 200 <= self.status_code < 300


def sign(secret, timestamp, body):
    """The signature header's value for ``body`` (bytes) sent at ``timestamp``
    (Unix seconds): ``sha256=`` + hex HMAC-SHA256(secret, "<timestamp>.<body>")."""
    if isinstance(body, str):
        body = body.encode()
    message = b"%d." % int(timestamp) + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret, timestamp, body, signature, *, now=None, tolerance=300):
    """What a receiver does: the signature matches and the timestamp is
    recent (within ``tolerance`` seconds of ``now``)."""
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff(tries, base=BACKOFF_BASE, cap=BACKOFF_CAP):
    """Seconds to wait after the ``tries``-th failed try: base, 2 x base,
    4 x base, ... at most ``cap``."""
    if tries < 1:
        return 0
    # 2 ** 30 x a minute is far beyond any cap: no overflow for absurd counts
    return min(base * 2 ** min(tries - 1, 30), cap)


def normalize_host(host):
    """A host as the allow-list compares it: lower case, no trailing dot, no brackets."""
    return (host or "").strip().strip("[]").rstrip(".").lower()


def parse_hosts(text):
    """The hosts of an allow-list written one per line or comma-separated."""
    return {normalize_host(h) for h in (text or "").replace(",", "\n").split() if normalize_host(h)}


def refused_reason(address):
    """Why ``address`` (an ipaddress object) is not a public target, or ""."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped:
            # ::ffff:127.0.0.1 reaches 127.0.0.1
            return refused_reason(mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), "")


def check_url(url):
    """The parts of ``url`` and its host if it can be a webhook target at
    all (http or https, a host, no credentials), else TargetRefused. Nothing
    is resolved: this is what an endpoint's form checks on save."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as e:
        raise TargetRefused(f"Invalid URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(f"Only http and https URLs are called, not {parts.scheme or 'this'}.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("A URL with a user name or password is refused: the signature authenticates the call.")
    host = normalize_host(parts.hostname)
    if not host:
        raise TargetRefused("The URL has no host.")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def check_target(url, allowed_hosts=(), resolve=socket.getaddrinfo):
    """The target of ``url`` if this server may call it, else TargetRefused.

    Every address the host resolves to is checked (a name with one public
    and one private address is refused), unless the host is in
    ``allowed_hosts`` (the admin's explicit allow-list, compared after
    ``normalize_host``)."""
    parts, host, port = check_url(url)
    allowed = host in {normalize_host(h) for h in allowed_hosts}
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise TargetRefused(f"The host {host} cannot be resolved ({e}).") from None
    addresses = tuple(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise TargetRefused(f"The host {host} cannot be resolved.")
    if not allowed:
        for text in addresses:
            reason = refused_reason(ipaddress.ip_address(text))
            if reason:
                raise TargetRefused(
                    f"The host {host} resolves to {text} ({reason} address): refused unless the host is allowed "
                    "on the endpoint.")
    return Target(parts.geturl(), host, port, addresses)


def pinned_url(target):
    """For an http target, the URL with the host replaced by the address that
    was checked, and the Host header to send: the connection goes where the
    check looked, even if the name resolves elsewhere a moment later (DNS
    rebinding). An https URL is kept: its certificate must match the host
    name, so a name rebound to an internal address fails the TLS handshake
    before any byte of the request is sent."""
    parts = urlsplit(target.url)
    if parts.scheme != "http":
        return target.url, {}
    address = target.addresses[0]
    literal = f"[{address}]" if ":" in address else address
    default = parts.port is None
    netloc = literal if default else f"{literal}:{parts.port}"
    host_header = parts.hostname if default else f"{parts.hostname}:{parts.port}"
    if ":" in (parts.hostname or ""):
        host_header = f"[{parts.hostname}]" + ("" if default else f":{parts.port}")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), {"Host": host_header}


def headers_for(secret, body, *, timestamp, idempotency_key):
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        IDEMPOTENCY_HEADER: idempotency_key,
    }


def post(target, body, headers, *, timeout=10):
    """POST ``body`` (bytes) to a checked target; never raises for a network
    failure: the Response says what happened. Redirects are not followed
    (a 3xx is a failed try: the receiver's URL must be the configured one)."""
    url, host_header = pinned_url(target)
    try:
        with requests.post(url, data=body, headers={**headers, **host_header}, timeout=timeout,
                           allow_redirects=False, stream=True) as response:
            return Response(response.status_code, _excerpt(response), "")
    except requests.Timeout:
        return Response(0, "", f"Timed out after {timeout} s")
    except requests.RequestException as e:
        return Response(0, "", f"Connection failed: {_root_cause(e)}")


def _excerpt(response):
    """The start of the answer's body, as text; the status counts even when
    the body cannot be read (cut, badly compressed, an unknown charset)."""
    try:
        raw = response.raw.read(EXCERPT_SIZE * 4, decode_content=True) or b""
        return raw.decode(response.encoding or "utf-8", errors="replace")[:EXCERPT_SIZE]
    except (OSError, LookupError, urllib3.exceptions.HTTPError):
        return ""


def _root_cause(error):
    """The innermost cause of a requests error, without the URL that
    requests repeats in its messages (a query string may hold a token)."""
    seen = error
    while seen.__cause__ or seen.__context__:
        seen = seen.__cause__ or seen.__context__
    if seen is error and error.args and isinstance(error.args[0], Exception):
        seen = error.args[0]
        while getattr(seen, "reason", None) is not None and isinstance(seen.reason, Exception):
            seen = seen.reason
    text = str(seen)
    return (text.split(": ", 1)[-1] if "<" in text else text)[:200] or type(seen).__name__
