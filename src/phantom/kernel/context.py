"""Who is acting, for which tenant: values carried through every command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NewType

__all__ = ["SYSTEM", "Actor", "ActorKind", "TenantId"]

TenantId = NewType("TenantId", str)

ActorKind = Literal["user", "service", "agent", "system"]

_KINDS: dict[str, ActorKind] = {
    "user": "user",
    "service": "service",
    "agent": "agent",
    "system": "system",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal behind a change, and how it authenticated.

    Attributes:
        kind: user, service, agent or system.
        id: the user, service account or agent id.
        via: how the principal authenticated (``api_key``, ``token``, ``cli``...).
    """

    kind: ActorKind
    id: str
    via: str = "internal"

    def to_dict(self) -> dict[str, str]:
        """Return the JSON form stored in event envelopes."""
        return {"kind": self.kind, "id": self.id, "via": self.via}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Actor:
        """Rebuild an actor from :meth:`to_dict` output."""
        kind = _KINDS.get(data["kind"])
        if kind is None:
            msg = f"unknown actor kind {data['kind']!r}"
            raise ValueError(msg)
        return cls(kind=kind, id=data["id"], via=data.get("via", "internal"))


SYSTEM = Actor(kind="system", id="phantom", via="internal")
