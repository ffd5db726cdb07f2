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

A call lasts at most its timeout, whatever the receiver does: requests'
own timeout bounds each socket operation only, so a receiver that drips a
byte now and then (in its status line, its headers or its body) would hold
the call for ever. ``post`` arms a watchdog that shuts the connection's
socket down at the deadline, whatever phase the call is in, and reads the
body against the same clock. The name is resolved in a thread that is
waited for at most the timeout (``resolve_within``): a hung DNS server
costs one failed try, not the worker. What remains: the resolver thread
itself lives until the system resolver gives up (resolv.conf's timeout and
attempts), and an https call resolves its host name again when it
connects, through the system resolver, usually answered from its cache
a moment after the check.

Nothing here imports Odoo; nothing here logs (a secret must never reach a log).
"""

import contextvars
import hashlib
import hmac
import ipaddress
import socket
import threading
import time
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

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


class ResolveTimeout(OSError):
    """The host name was not resolved in time: a failed try, retried later
    (unlike TargetRefused, which is final)."""


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


def resolve_within(seconds, resolve=None):
    """``resolve`` (getaddrinfo's signature), given at most ``seconds``:
    getaddrinfo has no timeout of its own, so it runs in a thread that is
    waited for that long; ResolveTimeout if it did not answer in time (the
    thread ends when the system resolver gives up). ``resolve`` defaults to
    socket.getaddrinfo."""
    def bounded(host, port, **kwargs):
        outcome = {}

        def run():
            try:
                outcome["infos"] = (resolve or socket.getaddrinfo)(host, port, **kwargs)
            except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
                outcome["error"] = e

        thread = threading.Thread(target=run, name="webhook-resolve", daemon=True)
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            raise ResolveTimeout(f"The host {host} was not resolved within {seconds:g} s.")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["infos"]
    return bounded


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
    except ResolveTimeout:
        raise
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


def post(target, body, headers, *, timeout=10, deadline=None):
    """POST ``body`` (bytes) to a checked target; never raises for a network
    failure: the Response says what happened. Redirects are not followed
    (a 3xx is a failed try: the receiver's URL must be the configured one).

    The whole call, from connecting to the last byte of the excerpt, ends
    by ``deadline`` (a time.monotonic() value; ``timeout`` seconds from now
    by default): a receiver that answers too slowly is cut, a timeout."""
    url, host_header = pinned_url(target)
    deadline = time.monotonic() + timeout if deadline is None else deadline
    watchdog = _Watchdog(deadline)
    token = _WATCHDOG.set(watchdog)
    try:
        with requests.Session() as session:
            session.mount("http://", _WatchedAdapter())
            session.mount("https://", _WatchedAdapter())
            left = max(deadline - time.monotonic(), 0.001)
            with session.post(url, data=body, headers={**headers, **host_header}, timeout=left,
                              allow_redirects=False, stream=True) as response:
                excerpt = _excerpt(response, deadline)
                if watchdog.fired:
                    return Response(0, "", f"Timed out after {timeout:g} s")
                return Response(response.status_code, excerpt, "")
    except requests.Timeout:
        return Response(0, "", f"Timed out after {timeout:g} s")
    except requests.RequestException as e:
        if watchdog.fired:
            return Response(0, "", f"Timed out after {timeout:g} s")
        return Response(0, "", f"Connection failed: {_root_cause(e)}")
    finally:
        watchdog.cancel()
        _WATCHDOG.reset(token)


def _excerpt(response, deadline):
    """The start of the answer's body, as text, read until ``deadline``
    (the watchdog cuts a read that blocks past it); the status counts even
    when the body cannot be read (cut, badly compressed, an unknown charset)."""
    raw, wanted = b"", EXCERPT_SIZE * 4
    try:
        while len(raw) < wanted and time.monotonic() < deadline:
            chunk = response.raw.read(min(1024, wanted - len(raw)), decode_content=True)
            if not chunk:
                break
            raw += chunk
    except (OSError, LookupError, urllib3.exceptions.HTTPError):
        return ""
    return raw.decode(response.encoding or "utf-8", errors="replace")[:EXCERPT_SIZE]


# the watchdog of the call being made in this thread (context), which the
# connection pools below give each connection they open
_WATCHDOG = contextvars.ContextVar("smb_journey_webhook_watchdog", default=None)


class _Watchdog:
    """Shuts down the sockets of a call's connections at its deadline: a
    blocked read or write returns at once, whatever the phase of the call."""

    def __init__(self, deadline):
        self.fired = False
        self._connections = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, connection):
        with self._lock:
            self._connections.append(connection)

    def cancel(self):
        self._timer.cancel()

    def _fire(self):
        with self._lock:
            self.fired = True
            for connection in self._connections:
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


class _WatchedPoolMixin:
    def _new_conn(self):
        connection = super()._new_conn()
        watchdog = _WATCHDOG.get()
        if watchdog is not None:
            watchdog.watch(connection)
        return connection


class _WatchedHTTPPool(_WatchedPoolMixin, urllib3.HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_WatchedPoolMixin, urllib3.HTTPSConnectionPool):
    pass


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections (direct or through a proxy) are
    under the call's watchdog."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _watched_pool_classes()

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _watched_pool_classes()
        return manager


def _watched_pool_classes():
    return {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


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
