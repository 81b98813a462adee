"""Alert webhooks: refused targets, signatures, retries, and no redirects."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from phantom.monitoring.alerting.webhooks import (
    WebhookRefused,
    WebhookSender,
    check_target,
    sign,
)

LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]
SECRET = b"s" * 32


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "http:///nohost",
        "https://user:pw@example.com/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_private_and_odd_targets_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefused):
        check_target(url)


def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "169.254.169.254"]  # one public, one metadata

    with pytest.raises(WebhookRefused, match=r"169\.254\.169\.254"):
        check_target("https://hooks.example.com/x", resolve=resolve)


def test_public_targets_and_allowed_networks_pass() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    assert check_target("https://hooks.example.com/x", resolve=resolve) == [
        "93.184.216.34"
    ]
    assert check_target("http://127.0.0.1:9/x", LOOPBACK) == ["127.0.0.1"]


class Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    seen: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, dict(self.headers), body))
        status = self.answers.pop(0) if self.answers else 204
        self.send_response(status)
        if status in (301, 302, 307):
            port = self.server.server_address[1]
            self.send_header("Location", f"http://127.0.0.1:{port}/target")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.answers, Receiver.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def sender(**kwargs: Any) -> WebhookSender:
    return WebhookSender(allowed=LOOPBACK, sleep=lambda _: None, **kwargs)


def test_a_delivery_is_signed_over_timestamp_and_body(receiver: str) -> None:
    result = sender().deliver(receiver, SECRET, {"alert": "fired", "value": 0.7})
    assert result.delivered
    assert result.attempts == 1
    (_, headers, body) = Receiver.seen[0]
    timestamp = int(headers["X-Phantom-Timestamp"])
    expected = hmac.new(
        SECRET, f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Phantom-Signature"] == f"sha256={expected}"
    assert sign(SECRET, timestamp, body) == f"sha256={expected}"
    assert body == b'{"alert":"fired","value":0.7}'


def test_server_errors_are_retried_with_backoff_then_delivered(receiver: str) -> None:
    Receiver.answers = [500, 503]
    delays: list[float] = []
    done = WebhookSender(allowed=LOOPBACK, sleep=delays.append, backoff_s=1.0)
    result = done.deliver(receiver, SECRET, {"n": 1})
    assert result.delivered
    assert result.attempts == 3
    assert len(delays) == 2
    assert 1.0 <= delays[0] <= 1.25
    assert 2.0 <= delays[1] <= 2.5


def test_a_client_error_is_not_retried(receiver: str) -> None:
    Receiver.answers = [404]
    result = sender().deliver(receiver, SECRET, {"n": 1})
    assert (result.delivered, result.attempts, result.status) == (False, 1, 404)


def test_a_redirect_is_never_followed(receiver: str) -> None:
    Receiver.answers = [302]
    result = sender().deliver(receiver, SECRET, {"n": 1})
    assert not result.delivered
    assert result.error == "redirects are not followed"
    assert [path for path, _, _ in Receiver.seen] == ["/hook"]  # /target never hit


def test_the_target_is_checked_again_at_delivery(receiver: str) -> None:
    # the receiver is allowed when the rule is saved, not any more at delivery
    result = WebhookSender(sleep=lambda _: None).deliver(receiver, SECRET, {"n": 1})
    assert not result.delivered
    assert "loopback" in (result.error or "")
    assert Receiver.seen == []


def test_an_unreachable_receiver_fails_after_every_attempt() -> None:
    result = sender(attempts=3, timeout_s=0.5).deliver(
        "http://127.0.0.1:9/hook", SECRET, {"n": 1}
    )
    assert not result.delivered
    assert result.attempts == 3
    assert result.status is None
