"""The privacy service: tenant policies, analyze/anonymize/reveal, and scrubbing.

* Each tenant's policy is its stored document (``PUT /v1/privacy/policy``) or the
  default one, compiled once and cached for ``policy_ttl_s`` seconds per process.
* ``hash`` and ``pseudonymize`` use the tenant's HMAC key (:mod:`.keys`);
  pseudonyms are sealed into the vault before the anonymized result is returned,
  so every token handed out can be revealed later. A token already in the vault
  for a different value is a collision (409): longer tokens avoid it.
* ``reveal`` needs ``privacy:reveal`` and appends a ``privacy.PseudonymsRevealed``
  event (tokens, never values), which the audit chain records.
* :meth:`PrivacyService.scrub_record` and :meth:`PrivacyService.scrub_text` are
  the :class:`~phantom.privacy.api.Scrubber` other contexts call (the prediction
  log, audit details). They raise when they cannot scrub; callers fail closed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from phantom.kernel.clock import Clock
from phantom.kernel.errors import InvalidField
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.ids import uuid7
from phantom.privacy.adapters.sql import SqlPrivacyStore
from phantom.privacy.documents import (
    OPERATOR_TYPES,
    PolicyDocument,
    from_policy,
    to_policy,
)
from phantom.privacy.domain import (
    DEFAULT_POLICY,
    Finding,
    JsonValue,
    Policy,
    Pseudonym,
    PseudonymCollision,
    analyze_record,
    analyze_text,
    anonymize_record,
    anonymize_text,
)
from phantom.privacy.domain.detectors import Detector
from phantom.privacy.events import PolicySet, PrivacyEvent, PseudonymsRevealed
from phantom.privacy.keys import KeyRing, TenantKeys
from phantom.privacy.ner import NerStatus
from phantom.privacy.ports import SealedPseudonym
from phantom.tenancy.api import Permission, Principal, require_permission

__all__ = ["MAX_REVEAL_TOKENS", "Anonymized", "PolicyView", "PrivacyService"]

MAX_REVEAL_TOKENS: Final = 1_000
POLICY_TTL_S: Final = 2.0
_MAX_POLICIES: Final = 10_000
_MAX_VAULTED: Final = 100_000


@dataclass(frozen=True, slots=True)
class PolicyView:
    """A tenant's policy document and where it came from."""

    document: PolicyDocument
    revision: int
    is_default: bool
    updated_by: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Anonymized:
    """An anonymized text or record and what was found in the original."""

    value: JsonValue
    findings: tuple[Finding, ...]
    pseudonyms: int


class PrivacyService:
    """The privacy context's application service (see the module docstring)."""

    def __init__(  # noqa: PLR0913 - the service's collaborators, keyword-only
        self,
        *,
        store: SqlPrivacyStore,
        keyring: KeyRing,
        clock: Clock,
        ner: NerStatus,
        ner_detector: Detector | None = None,
        policy_ttl_s: float = POLICY_TTL_S,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.clock = clock
        self.ner = ner
        self._extra: tuple[Detector, ...] = (
            () if ner_detector is None else (ner_detector,)
        )
        self._default = (
            DEFAULT_POLICY if not self._extra else Policy(extra_detectors=self._extra)
        )
        self.policy_ttl_s = policy_ttl_s
        self._policies: OrderedDict[str, tuple[float, Policy]] = OrderedDict()
        self._vaulted: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    # -- policies ------------------------------------------------------------

    def policy_for(self, tenant_id: str) -> Policy:
        """The tenant's compiled policy (cached for ``policy_ttl_s``)."""
        now = time.monotonic()
        cached = self._policies.get(tenant_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        stored = self.store.policy(tenant_id)
        policy = (
            self._default
            if stored is None
            else to_policy(PolicyDocument.model_validate(stored.document), self._extra)
        )
        with self._lock:
            self._policies[tenant_id] = (now + self.policy_ttl_s, policy)
            self._policies.move_to_end(tenant_id)
            while len(self._policies) > _MAX_POLICIES:
                self._policies.popitem(last=False)
        return policy

    def get_policy(self, principal: Principal) -> PolicyView:
        """The caller's tenant's policy (the default until one is set)."""
        require_permission(principal, Permission.PRIVACY_READ)
        stored = self.store.policy(principal.tenant_id)
        if stored is None:
            return PolicyView(
                document=from_policy(DEFAULT_POLICY),
                revision=0,
                is_default=True,
                updated_by=None,
                updated_at=None,
            )
        return PolicyView(
            document=PolicyDocument.model_validate(stored.document),
            revision=stored.revision,
            is_default=False,
            updated_by=stored.updated_by,
            updated_at=stored.updated_at,
        )

    def set_policy(self, principal: Principal, document: PolicyDocument) -> PolicyView:
        """Replace the caller's tenant's policy with ``document``.

        Raises:
            Forbidden: the caller lacks ``privacy:write``.
            InvalidField: the document names an unknown entity, a bad path or an
                unsafe pattern.
        """
        require_permission(principal, Permission.PRIVACY_WRITE)
        to_policy(document, self._extra)  # the domain's checks, before storing
        event = PolicySet(document=document.model_dump(mode="json"))
        self._append(principal, "privacy-policy", event)
        with self._lock:
            self._policies.pop(principal.tenant_id, None)
        return self.get_policy(principal)

    # -- tools ---------------------------------------------------------------

    def analyze(
        self,
        principal: Principal,
        value: JsonValue,
        policy: PolicyDocument | None = None,
    ) -> list[Finding]:
        """Findings in ``value`` (a string: free text; else a JSON record)."""
        require_permission(principal, Permission.PRIVACY_READ)
        chosen = self._chosen(principal.tenant_id, policy)
        if isinstance(value, str):
            return analyze_text(value, chosen)
        return analyze_record(value, chosen)

    def anonymize(
        self,
        principal: Principal,
        value: JsonValue,
        policy: PolicyDocument | None = None,
    ) -> Anonymized:
        """``value`` anonymized by the tenant's policy (or the one given)."""
        require_permission(principal, Permission.PRIVACY_READ)
        tenant_id = principal.tenant_id
        return self._anonymize(tenant_id, value, self._chosen(tenant_id, policy))

    def reveal(
        self, principal: Principal, tokens: Sequence[str], reason: str
    ) -> dict[str, str | None]:
        """The values behind ``tokens`` (``None``: unknown in this tenant).

        Raises:
            Forbidden: the caller lacks ``privacy:reveal``.
            InvalidField: no tokens, too many, or no reason.
        """
        require_permission(principal, Permission.PRIVACY_REVEAL)
        if not tokens or len(tokens) > MAX_REVEAL_TOKENS:
            msg = f"give 1 to {MAX_REVEAL_TOKENS} tokens"
            raise InvalidField("tokens", msg)
        if not reason.strip():
            raise InvalidField("reason", "say why the values are needed")
        tenant_id = principal.tenant_id
        keys = self.keyring.keys(tenant_id)
        rows = self.store.find_pseudonyms(tenant_id, tokens)
        found = {
            token: None if token not in rows else keys.open(token, rows[token].sealed)
            for token in tokens
        }
        event = PseudonymsRevealed(
            tokens=sorted(set(tokens)), found=len(rows), reason=reason.strip()[:500]
        )
        self._append(principal, f"reveal-{uuid7()}", event)
        return found

    # -- scrubbing (the Scrubber other contexts call) ------------------------

    def scrub_record(self, tenant_id: str, value: Any) -> Any:  # noqa: ANN401 - JSON
        """``value`` anonymized by the tenant's policy (JSON in, JSON out).

        A value without a single string (numeric instances, the common case of
        the prediction log) is returned as it is unless the policy has field
        rules, which may coarsen numbers.
        """
        if isinstance(value, str):
            return self.scrub_text(tenant_id, value)
        policy = self.policy_for(tenant_id)
        if not policy.fields and not _has_text(value):
            return value
        return self._anonymize(tenant_id, value, policy).value

    def scrub_text(self, tenant_id: str, text: str) -> str:
        """``text`` anonymized by the tenant's policy."""
        anonymized = self._anonymize(tenant_id, text, self.policy_for(tenant_id))
        return str(anonymized.value)

    def status(self) -> dict[str, Any]:
        """What detects what here: the built-in types and the NER detector."""
        return {
            "entities": sorted(self._default.enabled),
            "operators": list(OPERATOR_TYPES),
            "ner": self.ner.as_dict(),
        }

    # -- internals -----------------------------------------------------------

    def _chosen(self, tenant_id: str, policy: PolicyDocument | None) -> Policy:
        if policy is None:
            return self.policy_for(tenant_id)
        return to_policy(policy, self._extra)

    def _anonymize(
        self, tenant_id: str, value: JsonValue, policy: Policy
    ) -> Anonymized:
        keys = self.keyring.keys(tenant_id)
        result: JsonValue
        if isinstance(value, str):
            text = anonymize_text(value, policy, key=keys.hmac_key)
            result, findings, issued = text.text, text.findings, text.pseudonyms
        else:
            record = anonymize_record(value, policy, key=keys.hmac_key)
            result, findings, issued = record.record, record.findings, record.pseudonyms
        if issued:
            self._vault(tenant_id, keys, issued)
        return Anonymized(result, tuple(findings), len(issued))

    def _vault(
        self, tenant_id: str, keys: TenantKeys, issued: Sequence[Pseudonym]
    ) -> None:
        """Seal new pseudonyms into the vault; a token taken by another value is 409."""
        fresh = {
            p.token: p for p in issued if (tenant_id, p.token) not in self._vaulted
        }
        if not fresh:
            return
        rows = [
            SealedPseudonym(p.token, p.entity, keys.seal(p.token, p.value))
            for p in fresh.values()
        ]
        stored = self.store.add_pseudonyms(tenant_id, rows)
        for token, pseudonym in fresh.items():
            row = stored.get(token)
            if row is None or keys.open(token, row.sealed) != pseudonym.value:
                msg = f"pseudonym {token} already stands for another value"
                raise PseudonymCollision(msg)
        with self._lock:
            for token in fresh:
                self._vaulted[(tenant_id, token)] = None
            while len(self._vaulted) > _MAX_VAULTED:
                self._vaulted.popitem(last=False)

    def _append(self, principal: Principal, stream: str, event: PrivacyEvent) -> None:
        envelope = new_envelope(
            event.event_type(),
            tenant_id=principal.tenant_id,
            stream_id=stream,
            data=event.to_data(),
            actor=principal.actor(),
            schema_version=event.SCHEMA_VERSION,
            occurred_at=self.clock.now(),
        )
        self.store.append(principal.tenant_id, [envelope])


def _has_text(value: object) -> bool:
    """Whether a JSON value holds a string anywhere (object keys aside)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            return True
        if isinstance(item, list):
            if item and all(type(v) is float or type(v) is int for v in item):
                continue
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False
