"""The registry context's operations, with their dependencies bound.

One :class:`RegistryService` is built by the composition root and serves the
HTTP routes. Every operation acts as a :class:`~phantom.tenancy.api.Principal`
and touches that principal's tenant only: another tenant's names are not found.

A model file is checked before anything is stored: :func:`detect_format` (which
runs :func:`refuse_unsafe` first) refuses pickles and unknown formats, so an
unsafe upload leaves no bytes and no model behind. The bytes then go to the
artifact store under their sha256, and the version to the registry database.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from phantom.kernel.artifacts import ArtifactRef, ArtifactStore
from phantom.kernel.clock import Clock
from phantom.kernel.context import Actor
from phantom.kernel.errors import Conflict, InvalidField, NotFound
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.kernel.events.sql import to_us
from phantom.kernel.ids import uuid7
from phantom.registry.adapters.sql import (
    SqlRegistryReader,
    SqlRegistryStore,
    SqlRegistryWriter,
)
from phantom.registry.api import AliasAssignment, ModelInfo, ModelVersionInfo
from phantom.registry.domain.aliases import check_alias, check_assignable, needs_move
from phantom.registry.domain.rules import (
    check_description,
    check_metrics,
    check_model_name,
    check_params,
)
from phantom.registry.events import (
    AliasMoved,
    AliasRemoved,
    ModelRegistered,
    ModelVersionArchived,
    ModelVersionRegistered,
    RegistryEvent,
)
from phantom.registry.formats.convert import to_onnx
from phantom.registry.formats.detect import ModelFormat, detect_format
from phantom.registry.formats.load import LoadedModel, load_model
from phantom.tenancy.api import Page, Permission, Principal, require_permission

__all__ = ["Lineage", "RegistryLimits", "RegistryService", "VersionFacts"]

_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
_MAX_SIGNATURE: Final = 10_000


@dataclass(frozen=True, slots=True)
class RegistryLimits:
    """Sizes the service enforces (from settings)."""

    max_upload_bytes: int = 5 * 1024**3
    storage_quota_bytes: int = 10 * 1024**3


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a version came from (every part optional)."""

    dataset_id: str | None = None
    dataset_version: int | None = None
    run_id: str | None = None
    job_id: str | None = None
    parent_version: int | None = None


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What a caller states about a new version besides its bytes."""

    description: str | None = None
    signature: Sequence[Mapping[str, Any]] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    lineage: Lineage = field(default_factory=Lineage)
    declared_format: str | None = None


def _not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"no {what} {ident[:100]!r} in this tenant")


def _at_us(at: datetime) -> int:
    """``at`` in microseconds since the epoch (a naive time is UTC)."""
    try:
        return to_us(at.replace(tzinfo=UTC) if at.tzinfo is None else at)
    except OverflowError:
        raise InvalidField("at", "is out of range") from None


@dataclass
class RegistryService:
    """The registry operations (see the module docstring)."""

    store: SqlRegistryStore
    artifacts: ArtifactStore
    clock: Clock
    limits: RegistryLimits = field(default_factory=RegistryLimits)

    # -- helpers -----------------------------------------------------------

    def _envelopes(
        self,
        principal: Principal | tuple[str, Actor],
        model_id: str,
        events: Sequence[RegistryEvent],
    ) -> list[Envelope]:
        tenant_id, who = (
            principal
            if isinstance(principal, tuple)
            else (principal.tenant_id, principal.actor())
        )
        now = self.clock.now()
        return [
            new_envelope(
                event.event_type(),
                tenant_id=tenant_id,
                stream_id=f"model-{model_id}",
                data=event.to_data(),
                actor=who,
                schema_version=event.SCHEMA_VERSION,
                occurred_at=now,
            )
            for event in events
        ]

    def _model(self, tx: SqlRegistryReader, name: str) -> ModelInfo:
        model = tx.model_by_name(name)
        if model is None:
            raise _not_found("model", name)
        return model

    def _version(
        self, tx: SqlRegistryReader, model: ModelInfo, version: int
    ) -> ModelVersionInfo:
        found = tx.version(model, version)
        if found is None:
            raise _not_found("version", f"{model.name}/{version}")
        return found

    # -- registering -------------------------------------------------------

    def upload_version(
        self,
        principal: Principal,
        name: str,
        data: IO[bytes] | bytes,
        facts: VersionFacts | None = None,
    ) -> ModelVersionInfo:
        """Register ``data`` (a model file) as the next version of ``name``.

        The bytes are checked before anything is stored; the model is created
        on its first version.

        Raises:
            Forbidden: the caller lacks ``models:write``.
            UnsafeModel: the file is or holds a pickle, or names untrusted types.
            UnknownModelFormat: the bytes are no format Phantom serves.
            InvalidInput: the name or a stated fact is invalid.
            QuotaExceeded: the tenant's storage quota would be exceeded.
            PayloadTooLarge: the file is larger than the upload limit.
        """
        require_permission(principal, Permission.MODELS_WRITE)
        facts = facts or VersionFacts()
        name = check_model_name(name)
        with tempfile.TemporaryDirectory(prefix="phantom-model-") as folder:
            path = Path(folder) / "model"
            with path.open("wb") as sink:
                if isinstance(data, bytes):
                    sink.write(data)
                else:
                    shutil.copyfileobj(data, sink)
            fmt = detect_format(path)
            with path.open("rb") as source:
                ref = self.artifacts.put(
                    principal.tenant_id,
                    source,
                    quota_bytes=self.limits.storage_quota_bytes,
                    max_bytes=self.limits.max_upload_bytes,
                )
        return self._register(principal, name, ref, fmt, facts, source="upload")

    def register_artifact(
        self,
        principal: Principal,
        name: str,
        digest: str,
        facts: VersionFacts | None = None,
    ) -> ModelVersionInfo:
        """Register bytes already in the tenant's artifact store (a run's model).

        Raises:
            Forbidden: the caller lacks ``models:write``.
            InvalidField: ``digest`` is not in this tenant's artifact store.
            UnsafeModel: the bytes are or hold a pickle, or name untrusted types.
            UnknownModelFormat: the bytes are no format Phantom serves.
        """
        require_permission(principal, Permission.MODELS_WRITE)
        facts = facts or VersionFacts()
        name = check_model_name(name)
        if not _DIGEST.fullmatch(digest):
            raise InvalidField("digest", "must be 64 lowercase hexadecimal digits")
        ref = self.artifacts.stat(principal.tenant_id, digest)
        if ref is None:
            raise InvalidField("digest", "is not in this tenant's artifact store")
        with self.artifacts.materialize(principal.tenant_id, digest) as path:
            fmt = detect_format(path)
        return self._register(principal, name, ref, fmt, facts, source="artifact")

    def _register(  # noqa: PLR0913 - one registration's facts
        self,
        principal: Principal,
        name: str,
        ref: ArtifactRef,
        fmt: ModelFormat,
        facts: VersionFacts,
        *,
        source: str,
    ) -> ModelVersionInfo:
        if facts.declared_format not in {None, fmt.value}:
            msg = f"does not match the content, which is {fmt.value}"
            raise InvalidField("format", msg)
        description = check_description(facts.description)
        metrics, params = check_metrics(facts.metrics), check_params(facts.params)
        if len(facts.signature) > _MAX_SIGNATURE:
            raise InvalidField("signature", f"at most {_MAX_SIGNATURE} entries")
        with self.store.write(principal.tenant_id) as tx:
            model = tx.model_by_name(name)
            events: list[RegistryEvent] = []
            if model is None:
                model_id, latest = str(uuid7()), 0
                events.append(
                    ModelRegistered(
                        model_id=model_id, name=name, description=description
                    )
                )
            else:
                model_id, latest = model.model_id, model.latest_version
            parent = facts.lineage.parent_version
            if parent is not None and not 1 <= parent <= latest:
                raise InvalidField("parent_version", "is not a version of this model")
            events.append(
                ModelVersionRegistered(
                    model_id=model_id,
                    version=latest + 1,
                    digest=ref.digest,
                    size_bytes=ref.size,
                    format=fmt.value,
                    signature=[dict(entry) for entry in facts.signature],
                    metrics=metrics,
                    params=params,
                    description=description,
                    source=source,
                    dataset_id=facts.lineage.dataset_id,
                    dataset_version=facts.lineage.dataset_version,
                    run_id=facts.lineage.run_id,
                    job_id=facts.lineage.job_id,
                    parent_version=parent,
                )
            )
            tx.append(self._envelopes(principal, model_id, events))
            return self._version(tx, self._model(tx, name), latest + 1)

    # -- reading -----------------------------------------------------------

    def list_models(
        self, principal: Principal, *, after: str | None = None, limit: int = 50
    ) -> Page[ModelInfo]:
        """A page of the tenant's models, by name."""
        require_permission(principal, Permission.MODELS_READ)
        with self.store.read(principal.tenant_id) as tx:
            items = tx.models(after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_after=items[-1].name if more else None)

    def get_model(self, principal: Principal, name: str) -> ModelInfo:
        """The model called ``name``."""
        require_permission(principal, Permission.MODELS_READ)
        with self.store.read(principal.tenant_id) as tx:
            return self._model(tx, name)

    def list_versions(self, principal: Principal, name: str) -> list[ModelVersionInfo]:
        """Every version of a model, newest first."""
        require_permission(principal, Permission.MODELS_READ)
        with self.store.read(principal.tenant_id) as tx:
            return tx.versions(self._model(tx, name))

    def get_version(
        self, principal: Principal, name: str, version: int
    ) -> ModelVersionInfo:
        """One version of a model."""
        require_permission(principal, Permission.MODELS_READ)
        with self.store.read(principal.tenant_id) as tx:
            return self._version(tx, self._model(tx, name), version)

    @contextmanager
    def open_version(
        self, principal: Principal, name: str, version: int
    ) -> Iterator[tuple[ModelVersionInfo, IO[bytes]]]:
        """The version's facts and its bytes as a stream."""
        info = self.get_version(principal, name, version)
        with self.artifacts.open(principal.tenant_id, info.digest) as stream:
            yield info, stream

    # -- archiving ---------------------------------------------------------

    def archive_version(
        self, principal: Principal, name: str, version: int
    ) -> ModelVersionInfo:
        """Archive a version (it keeps its bytes); archiving twice is a no-op.

        Raises:
            Conflict: an alias points at the version (remove it first).
        """
        require_permission(principal, Permission.MODELS_WRITE)
        with self.store.write(principal.tenant_id) as tx:
            model = self._model(tx, name)
            found = self._version(tx, model, version)
            if found.status == "archived":
                return found
            pointing = tx.aliases_of_version(model, version)
            if pointing:
                msg = f"alias(es) {', '.join(pointing)} point at version {version}"
                raise Conflict(msg + "; move or remove them first")
            event = ModelVersionArchived(model_id=model.model_id, version=version)
            tx.append(self._envelopes(principal, model.model_id, [event]))
            return self._version(tx, model, version)

    # -- aliases -----------------------------------------------------------

    def set_alias(
        self, principal: Principal, name: str, alias: str, version: int
    ) -> AliasAssignment:
        """Point ``alias`` at ``version`` (unchanged: nothing happens).

        Raises:
            InvalidField: the alias name is invalid or the version does not exist.
            Conflict: the version is archived.
        """
        require_permission(principal, Permission.MODELS_WRITE)
        self.move_alias(principal.tenant_id, principal.actor(), name, alias, version)
        with self.store.read(principal.tenant_id) as tx:
            return self._current(tx, self._model(tx, name), check_alias(alias))

    def remove_alias(self, principal: Principal, name: str, alias: str) -> None:
        """Remove ``alias``.

        Raises:
            NotFound: the model has no such alias.
        """
        require_permission(principal, Permission.MODELS_WRITE)
        if (
            self.move_alias(principal.tenant_id, principal.actor(), name, alias, None)
            is None
        ):
            raise _not_found("alias", f"{name}@{alias}")

    def _current(
        self, tx: SqlRegistryReader | SqlRegistryWriter, model: ModelInfo, alias: str
    ) -> AliasAssignment:
        for assignment in tx.current_aliases(model):
            if assignment.alias == alias:
                return assignment
        raise _not_found("alias", f"{model.name}@{alias}")

    def list_aliases(self, principal: Principal, name: str) -> list[AliasAssignment]:
        """The model's current aliases, by name."""
        require_permission(principal, Permission.MODELS_READ)
        with self.store.read(principal.tenant_id) as tx:
            return tx.current_aliases(self._model(tx, name))

    def get_alias(
        self,
        principal: Principal,
        name: str,
        alias: str,
        at: datetime | None = None,
    ) -> AliasAssignment:
        """The alias's assignment now, or the one in force at ``at``.

        Raises:
            NotFound: the alias is not set (or was not set at ``at``).
        """
        require_permission(principal, Permission.MODELS_READ)
        alias = check_alias(alias)
        with self.store.read(principal.tenant_id) as tx:
            model = self._model(tx, name)
            if at is None:
                return self._current(tx, model, alias)
            found = tx.alias_at(model, alias, _at_us(at))
            if found is None:
                msg = f"alias {alias!r} of {name[:100]!r} was not set at {at}"
                raise NotFound(msg)
            return found

    def alias_history(
        self, principal: Principal, name: str, alias: str
    ) -> list[AliasAssignment]:
        """Every assignment of the alias, oldest first (empty if never set)."""
        require_permission(principal, Permission.MODELS_READ)
        alias = check_alias(alias)
        with self.store.read(principal.tenant_id) as tx:
            return tx.alias_history(self._model(tx, name), alias)

    # -- for serving (bound by the composition root) --------------------------
    #
    # Serving checks its own permissions (``predict``, ``deployments:*``) before
    # it calls these; they act for a tenant without a principal's check.

    def resolve(
        self,
        tenant_id: str,
        name: str,
        *,
        version: int | None = None,
        alias: str | None = None,
    ) -> ModelVersionInfo:
        """The version ``name`` serves: ``version`` if given, else ``alias``'s.

        Raises:
            NotFound: no such model, version or alias in the tenant.
        """
        with self.store.read(tenant_id) as tx:
            model = self._model(tx, name)
            if version is None:
                alias = check_alias(alias or "production")
                found = tx.alias_version(model, alias)
                if found is None:
                    msg = (
                        f"model {name[:100]!r} has no {alias!r} alias; deploy a "
                        "version or name one"
                    )
                    raise NotFound(msg)
                version = found
            return self._version(tx, model, version)

    def alias_version(self, tenant_id: str, name: str, alias: str) -> int | None:
        """The version ``alias`` points at now (``None``: unset).

        Raises:
            NotFound: no such model in the tenant.
        """
        with self.store.read(tenant_id) as tx:
            return tx.alias_version(self._model(tx, name), check_alias(alias))

    def alias_spans(
        self, tenant_id: str, name: str, alias: str
    ) -> list[AliasAssignment]:
        """Every assignment of the alias, oldest first."""
        with self.store.read(tenant_id) as tx:
            return tx.alias_history(self._model(tx, name), check_alias(alias))

    def move_alias(
        self, tenant_id: str, actor: Actor, name: str, alias: str, version: int | None
    ) -> int | None:
        """Point ``alias`` at ``version`` (``None``: remove it); the previous version.

        Nothing is written when the alias already points there.

        Raises:
            NotFound: no such model.
            InvalidField: the alias is invalid or the version does not exist.
            Conflict: the version is archived.
        """
        alias = check_alias(alias)
        with self.store.write(tenant_id) as tx:
            model = self._model(tx, name)
            current = tx.alias_version(model, alias)
            event: RegistryEvent
            if version is None:
                if current is None:
                    return None
                event = AliasRemoved(
                    model_id=model.model_id, alias=alias, previous_version=current
                )
            else:
                target = tx.version(model, version)
                if target is None:
                    raise InvalidField("version", "is not a version of this model")
                check_assignable(version, target.status)
                if not needs_move(current, version):
                    return current
                event = AliasMoved(
                    model_id=model.model_id,
                    alias=alias,
                    version=version,
                    previous_version=current,
                    name=model.name,
                )
            tx.append(self._envelopes((tenant_id, actor), model.model_id, [event]))
            return current

    def load(self, tenant_id: str, digest: str, fmt: str) -> LoadedModel:
        """Load the tenant's model bytes ``digest`` as ``fmt``, checked first.

        Raises:
            NotFound: the bytes are not in the tenant's artifact store.
            UnsafeModel: the bytes do not match ``digest`` or hold a pickle.
            InvalidField: the content is not ``fmt`` or does not parse.
        """
        with self.artifacts.open(tenant_id, digest) as stream:
            data = stream.read()
        return load_model(data, ModelFormat(fmt), expected_sha256=digest)

    def onnx_copy(
        self, tenant_id: str, info: ModelVersionInfo
    ) -> tuple[bytes, tuple[Any, ...] | None] | None:
        """A faithful ONNX copy of a scikit-learn version and its class labels.

        Only skops versions with an all-numeric signature are converted; the
        copy's answers are checked against the original's (see ``to_onnx``).
        ``None`` when the version cannot be converted faithfully.
        """
        if info.format != ModelFormat.SKOPS.value or not info.signature:
            return None
        loaded = self.load(tenant_id, info.digest, info.format)
        data = to_onnx(loaded.native, info.signature)
        return None if data is None else (data, loaded.classes)
