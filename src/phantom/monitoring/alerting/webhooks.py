"""Alert webhooks: checked targets, HMAC-signed bodies, retries, no redirects.

* **Targets** are ``http``/``https`` URLs whose host resolves only to public
  addresses: loopback, link-local (cloud metadata at 169.254.169.254 included),
  private, shared, multicast, reserved and unspecified ranges are refused, unless
  an administrator lists the network in ``webhook_allowed_networks``. The check
  runs when a rule is saved and again right before every delivery (a name that
  resolved to a public address yesterday may not today).
* **Bodies** are JSON, signed with HMAC-SHA256 under the tenant's webhook secret:
  ``X-Phantom-Signature: sha256=<hex>`` over ``<timestamp>.<body>``, with
  ``X-Phantom-Timestamp`` (seconds), so a receiver can refuse replays.
* **Delivery** never follows a redirect (a 3xx is a failure, not a hop), and
  retries connection errors, 429 and 5xx with exponential backoff and jitter.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from phantom.kernel.errors import InvalidField

__all__ = [
    "DeliveryResult",
    "WebhookRefused",
    "WebhookSender",
    "check_target",
    "sign",
]

_MAX_URL: Final = 2_000
_RETRYABLE: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]


class WebhookRefused(InvalidField):
    """A webhook target that is not an allowed public http(s) address."""

    code = "webhook-refused"
    title = "Webhook target refused"


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """On the public internet: not loopback, link-local, private, shared or reserved."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def check_target(
    url: str,
    allowed: Sequence[Network] = (),
    resolve: Resolver = _resolve,
) -> list[str]:
    """The addresses ``url``'s host resolves to, all of them allowed.

    Raises:
        WebhookRefused: not http(s), no host, credentials in the URL, a host that
            does not resolve, or any address outside the public internet and
            the allowed networks.
    """
    if len(url) > _MAX_URL:
        raise WebhookRefused("webhook_url", f"at most {_MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookRefused("webhook_url", "an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise WebhookRefused("webhook_url", "no credentials in the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = list(resolve(parts.hostname, port))
    except (OSError, ValueError, UnicodeError):
        raise WebhookRefused("webhook_url", "the host does not resolve") from None
    if not addresses:
        raise WebhookRefused("webhook_url", "the host does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if _public(address) or any(address in network for network in allowed):
            continue
        msg = (
            f"{address} is a loopback, link-local, private or reserved address "
            "(an administrator may allow its network)"
        )
        raise WebhookRefused("webhook_url", msg)
    return addresses


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, ``<timestamp>.<body>``)."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How a delivery ended: delivered or not, the attempts, the last problem."""

    delivered: bool
    attempts: int
    status: int | None
    error: str | None


def _failed(attempts: int, status: int | None, error: str | None) -> DeliveryResult:
    return DeliveryResult(
        delivered=False, attempts=attempts, status=status, error=error
    )


class WebhookSender:
    """Delivers signed alert notifications (see the module docstring).

    Args:
        allowed: networks an administrator allows beyond the public internet.
        attempts: deliveries tried before giving up (at least 1).
        backoff_s: the first retry's delay; each next one doubles (plus jitter).
        timeout_s: each attempt's connect and read timeout.
        resolve: the DNS resolver (tests inject one).
        sleep: waits between attempts (tests inject one).
    """

    def __init__(  # noqa: PLR0913 - the sender's knobs, all keyword-only
        self,
        *,
        allowed: Sequence[Network] = (),
        attempts: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 5.0,
        resolve: Resolver = _resolve,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.allowed = tuple(allowed)
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._resolve = resolve
        self._sleep = sleep

    def deliver(
        self, url: str, secret: bytes, payload: dict[str, Any]
    ) -> DeliveryResult:
        """Send ``payload`` to ``url``; never raises."""
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                delay = self.backoff_s * 2 ** (attempt - 2)
                self._sleep(delay + random.uniform(0, delay / 4))  # noqa: S311 - jitter
            try:
                check_target(url, self.allowed, self._resolve)  # again, at delivery
            except WebhookRefused as exc:
                return _failed(attempt, None, exc.detail)
            status, error = self._post(url, secret, body)
            if error is None:
                return DeliveryResult(
                    delivered=True, attempts=attempt, status=status, error=None
                )
            if status is not None and status not in _RETRYABLE:
                return _failed(attempt, status, error)
        return _failed(self.attempts, status, error)

    def _post(
        self, url: str, secret: bytes, body: bytes
    ) -> tuple[int | None, str | None]:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "phantom-alerts/1",
            "X-Phantom-Timestamp": str(timestamp),
            "X-Phantom-Signature": sign(secret, timestamp, body),
        }
        try:
            with httpx.Client(
                timeout=self.timeout_s, follow_redirects=False, trust_env=False
            ) as client:
                response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {str(exc)[:200]}"
        if response.is_redirect:
            return response.status_code, "redirects are not followed"
        if response.is_success:
            return response.status_code, None
        return response.status_code, f"the receiver answered {response.status_code}"
