"""Per-tenant key material, wrapped by the server's privacy master key.

Each tenant gets a random 32-byte data key on first use, stored only wrapped
(AES-256-GCM under the master key, the tenant id as associated data, so a
wrapped key copied to another tenant's row does not unwrap). From it, HKDF-SHA256
derives two keys with different labels:

* the **HMAC key** that ``hash`` and ``pseudonymize`` use, so the same value gives
  the same digest or token within a tenant and unrelated ones across tenants;
* the **vault key** that seals pseudonymized values (AES-256-GCM, the token as
  associated data).

Deleting a tenant's key row crypto-shreds its vault: its sealed values can no
longer be opened by anyone. The master key comes from settings
(``privacy_master_key``) or from ``PHANTOM_HOME/keys/privacy-master-key``; every
server of one deployment must share it.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from phantom.kernel.errors import ConfigError
from phantom.privacy.ports import WrappedKeys

__all__ = ["KEY_BYTES", "MASTER_KEY_FILE", "KeyRing", "TenantKeys"]

KEY_BYTES: Final = 32
MASTER_KEY_FILE: Final = "privacy-master-key"
_NONCE_BYTES: Final = 12
_WRAP_LABEL: Final = b"phantom-privacy-data-key:"
_MAX_CACHED: Final = 10_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


@dataclass(frozen=True, slots=True)
class TenantKeys:
    """One tenant's derived keys (``repr`` hides them)."""

    hmac_key: bytes = field(repr=False)
    vault: AESGCM = field(repr=False)

    def seal(self, token: str, value: str) -> str:
        """``value`` encrypted for the vault, bound to ``token`` (base64 text)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self.vault.encrypt(nonce, value.encode("utf-8"), token.encode())
        return _b64(nonce + sealed)

    def open(self, token: str, sealed: str) -> str:
        """The value :meth:`seal` sealed for ``token``.

        Raises:
            ConfigError: the value does not open under this tenant's key (the
                master key changed, or the row was tampered with).
        """
        data = _unb64(sealed)
        try:
            plain = self.vault.decrypt(
                data[:_NONCE_BYTES], data[_NONCE_BYTES:], token.encode()
            )
        except InvalidTag:
            msg = "a pseudonym does not open under this tenant's key"
            raise ConfigError(msg) from None
        return plain.decode("utf-8")


def _derive(data_key: bytes, label: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label)
    return hkdf.derive(data_key)


class KeyRing:
    """Unwraps (or creates) and caches each tenant's keys.

    Args:
        master: the privacy master key (32 bytes).
        store: where wrapped data keys live.
    """

    def __init__(self, master: bytes, store: WrappedKeys) -> None:
        if len(master) < KEY_BYTES:
            msg = f"the privacy master key must be at least {KEY_BYTES} bytes"
            raise ConfigError(msg)
        self._wrapper = AESGCM(master[:KEY_BYTES])
        self._store = store
        self._cache: dict[str, TenantKeys] = {}
        self._lock = threading.Lock()

    def keys(self, tenant_id: str) -> TenantKeys:
        """The tenant's keys, creating its data key on first use.

        Raises:
            ConfigError: the stored key does not unwrap (a different master key).
            Unavailable: the key store cannot be reached.
        """
        found = self._cache.get(tenant_id)
        if found is not None:
            return found
        wrapped = self._store.find_wrapped(tenant_id)
        if wrapped is None:
            wrapped = self._store.add_wrapped(tenant_id, self._wrap(tenant_id))
        keys = self._tenant_keys(self._unwrap(tenant_id, wrapped))
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[tenant_id] = keys
        return keys

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's cached keys (after its key row was deleted)."""
        with self._lock:
            self._cache.pop(tenant_id, None)

    def _wrap(self, tenant_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        aad = _WRAP_LABEL + tenant_id.encode()
        return nonce + self._wrapper.encrypt(nonce, os.urandom(KEY_BYTES), aad)

    def _unwrap(self, tenant_id: str, wrapped: bytes) -> bytes:
        aad = _WRAP_LABEL + tenant_id.encode()
        try:
            return self._wrapper.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], aad
            )
        except InvalidTag:
            msg = (
                f"the privacy key of tenant {tenant_id!r} does not unwrap: the "
                "privacy master key differs from the one that created it"
            )
            raise ConfigError(msg) from None

    @staticmethod
    def _tenant_keys(data_key: bytes) -> TenantKeys:
        return TenantKeys(
            hmac_key=_derive(data_key, b"phantom-privacy-hmac"),
            vault=AESGCM(_derive(data_key, b"phantom-privacy-vault")),
        )
