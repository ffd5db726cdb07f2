import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from webhook import (
    IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, ResolveTimeout, TargetRefused, backoff, check_target,
    headers_for, parse_hosts, pinned_url, post, resolve_within, sign, verify,
)

# printf '1765000000.{"event":"test"}' | openssl dgst -sha256 -hmac 'whsec_test'
KNOWN_SIGNATURE = "sha256=8037bc110c0c5233828696a93d0689de48d85afbd3a26df18dc1c4d15f2fc62e"


def test_sign_known_value():
    assert sign("whsec_test", 1765000000, b'{"event":"test"}') == KNOWN_SIGNATURE
    assert sign("whsec_test", "1765000000", '{"event":"test"}') == KNOWN_SIGNATURE


def test_signature_covers_secret_timestamp_and_body():
    assert sign("other", 1765000000, b'{"event":"test"}') != KNOWN_SIGNATURE
    assert sign("whsec_test", 1765000001, b'{"event":"test"}') != KNOWN_SIGNATURE
    assert sign("whsec_test", 1765000000, b'{"event":"test2"}') != KNOWN_SIGNATURE


def test_verify_refuses_old_timestamps():
    body = b'{"event":"test"}'
    assert verify("whsec_test", 1765000000, body, KNOWN_SIGNATURE, now=1765000100)
    assert not verify("whsec_test", 1765000000, body, KNOWN_SIGNATURE, now=1765000301)
    assert not verify("whsec_test", 1765000000, body + b" ", KNOWN_SIGNATURE, now=1765000000)


def test_backoff_schedule():
    # minutes after the 1st, 2nd, ... failed try: 1, 2, 4, ... capped at 6 hours
    assert [backoff(n) // 60 for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]
    assert backoff(0) == 0
    assert backoff(10**6) == 6 * 3600
    assert backoff(3, base=10, cap=1000) == 40


def fake_resolver(table):
    def resolve(host, port, type=0):  # noqa: A002 - socket.getaddrinfo's name
        if host not in table:
            raise socket.gaierror(-2, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in table[host]]
    return resolve


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://[::1]/hook",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.255/hook",
    "http://192.168.1.10/hook",
    "http://169.254.10.10/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata service
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://0.0.0.0:8069/hook",
    "http://[::]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/hook",  # 169.254.169.254, mapped, in hex
    "http://2130706433/hook",  # 127.0.0.1 as a decimal number
    "http://0x7f000001/hook",  # ... in hex
    "http://017700000001/hook",  # ... in octal
    "http://127.1/hook",  # ... shortened
    "http://localhost:8069/hook",  # a name resolving to loopback
    "http://LOCALHOST./hook",
    "http://224.0.0.1/hook",  # multicast
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://240.0.0.1/hook",  # reserved
])
def test_internal_targets_refused(url):
    with pytest.raises(TargetRefused, match="refused unless the host is allowed"):
        check_target(url)


def test_name_with_one_private_address_refused():
    resolve = fake_resolver({"mixed.example.com": ["93.184.215.14", "10.1.2.3"]})
    with pytest.raises(TargetRefused, match=r"10.1.2.3 \(private address\)"):
        check_target("https://mixed.example.com/hook", resolve=resolve)


def test_public_target_accepted():
    resolve = fake_resolver({"hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    target = check_target("https://Hooks.Example.com./in?x=1", resolve=resolve)
    assert target.host == "hooks.example.com"
    assert target.port == 443
    assert target.addresses == ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.com/hook", "Only http and https"),
    ("file:///etc/passwd", "Only http and https"),
    ("gopher://127.0.0.1:25/", "Only http and https"),
    ("example.com/hook", "Only http and https"),
    ("https://user:pass@example.com/hook", "user name or password"),
    ("https://user@example.com/hook", "user name or password"),
    ("https:///hook", "no host"),
    ("http://example.com:99999/", "Invalid URL"),
    ("https://no-such-host.invalid/", "cannot be resolved"),
])
def test_malformed_targets_refused(url, message):
    with pytest.raises(TargetRefused, match=message):
        check_target(url, resolve=fake_resolver({"example.com": ["93.184.215.14"]}))


def test_allowed_host_lets_internal_target_through():
    target = check_target("http://localhost:8069/hook", allowed_hosts=parse_hosts("Localhost, erp.lan"))
    assert target.addresses == ("127.0.0.1",)
    # the allow-list names hosts, not address ranges: another spelling is not allowed
    with pytest.raises(TargetRefused):
        check_target("http://127.0.0.1:8069/hook", allowed_hosts=parse_hosts("localhost"))
    # an allowed host still needs an http(s) URL without credentials
    with pytest.raises(TargetRefused, match="user name"):
        check_target("http://a:b@localhost/hook", allowed_hosts=["localhost"])


def test_parse_hosts():
    assert parse_hosts("erp.lan,\n  [::1]\nLOCALHOST. ") == {"erp.lan", "::1", "localhost"}
    assert parse_hosts(False) == set()


def test_http_connects_to_the_checked_address():
    resolve = fake_resolver({"hooks.example.com": ["93.184.215.14"], "v6.example.com": ["2001:db8::1"]})
    target = check_target("http://hooks.example.com:8080/in?x=1", resolve=resolve)
    assert pinned_url(target) == ("http://93.184.215.14:8080/in?x=1", {"Host": "hooks.example.com:8080"})
    target = check_target("http://hooks.example.com/in", resolve=resolve)
    assert pinned_url(target) == ("http://93.184.215.14/in", {"Host": "hooks.example.com"})
    # https keeps the name: the certificate is checked against it
    target = check_target("https://hooks.example.com/in", resolve=resolve)
    assert pinned_url(target) == ("https://hooks.example.com/in", {})


class Recorder(BaseHTTPRequestHandler):
    answers = []
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        status, text = self.answers.pop(0) if self.answers else (200, "ok")
        if status == "badgzip":
            self.send_response(201)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not gzip!")
            return
        if status == "slow":
            time.sleep(1)
            status = 200
        if status in ("drip_headers", "drip_body"):
            # a byte every 0.1 s, each well within a socket timeout: only a
            # deadline on the whole call stops it
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n"
            if status == "drip_body":
                self.wfile.write(head)
                self.wfile.flush()
            for byte in ((head if status == "drip_headers" else b"") + b"x" * 2000)[:30]:
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
            return
        if status == 302:
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.end_headers()
            return
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.answers, Recorder.received = [], []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_post_signed_body(server):
    port = server.server_address[1]
    target = check_target(f"http://localhost:{port}/in", allowed_hosts=["localhost"])
    body = json.dumps({"event": "test"}).encode()
    headers = headers_for("s3cret", body, timestamp=1765000000, idempotency_key="key-1")
    response = post(target, body, headers, timeout=5)
    assert response.ok and response.status_code == 200 and response.excerpt == "ok"
    path, received, raw = Recorder.received[0]
    assert (path, raw) == ("/in", body)
    assert received["Host"] == f"localhost:{port}"
    assert received[IDEMPOTENCY_HEADER] == "key-1"
    assert received[TIMESTAMP_HEADER] == "1765000000"
    assert verify("s3cret", received[TIMESTAMP_HEADER], raw, received[SIGNATURE_HEADER], now=1765000010)
    assert "s3cret" not in json.dumps(received)


def test_post_failures(server):
    port = server.server_address[1]
    target = check_target(f"http://127.0.0.1:{port}/in", allowed_hosts=["127.0.0.1"])
    Recorder.answers = [(500, "boom " * 300), (302, "")]
    response = post(target, b"{}", {}, timeout=5)
    assert (response.ok, response.status_code, len(response.excerpt)) == (False, 500, 500)
    # redirects are not followed
    response = post(target, b"{}", {}, timeout=5)
    assert (response.ok, response.status_code) == (False, 302)
    assert len(Recorder.received) == 2
    closed = check_target("http://127.0.0.1:1/in", allowed_hosts=["127.0.0.1"])
    response = post(closed, b"{}", {}, timeout=5)
    assert (response.ok, response.status_code) == (False, 0)
    assert response.error.startswith("Connection failed")
    assert "127.0.0.1" not in response.error


def test_post_timeout(server):
    port = server.server_address[1]
    target = check_target(f"http://127.0.0.1:{port}/in", allowed_hosts=["127.0.0.1"])
    Recorder.answers = [("slow", "")]
    response = post(target, b"{}", {}, timeout=0.2)
    assert (response.ok, response.status_code, response.error) == (False, 0, "Timed out after 0.2 s")


def test_post_unreadable_answer_keeps_its_status(server):
    port = server.server_address[1]
    target = check_target(f"http://127.0.0.1:{port}/in", allowed_hosts=["127.0.0.1"])
    Recorder.answers = [("badgzip", "")]
    assert post(target, b"{}", {}, timeout=5) == (201, "", "")


@pytest.mark.parametrize("phase", ["drip_headers", "drip_body"])
def test_post_cut_at_the_deadline_when_the_answer_drips(server, phase):
    port = server.server_address[1]
    target = check_target(f"http://127.0.0.1:{port}/in", allowed_hosts=["127.0.0.1"])
    Recorder.answers = [(phase, "")]
    started = time.monotonic()
    response = post(target, b"{}", {}, timeout=0.5)
    elapsed = time.monotonic() - started
    assert (response.ok, response.status_code, response.error) == (False, 0, "Timed out after 0.5 s")
    assert elapsed < 1, f"the whole call lasts its timeout, not {elapsed:.1f} s"


def test_resolve_within_gives_up_on_a_hung_resolver():
    release = threading.Event()

    def hung(host, port, type=0):  # noqa: A002 - socket.getaddrinfo's name
        release.wait(5)
        return []

    started = time.monotonic()
    with pytest.raises(ResolveTimeout, match="not resolved within 0.2 s"):
        check_target("https://hooks.example.com/in", resolve=resolve_within(0.2, hung))
    assert time.monotonic() - started < 1
    release.set()
    # a resolver that answers in time, or fails, is passed through
    resolve = resolve_within(1, fake_resolver({"hooks.example.com": ["93.184.216.34"]}))
    assert check_target("https://hooks.example.com/in", resolve=resolve).addresses == ("93.184.216.34",)
    with pytest.raises(TargetRefused, match="cannot be resolved"):
        check_target("https://other.example.com/in", resolve=resolve)
