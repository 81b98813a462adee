"""``client.models``: the model registry, its aliases, and predictions.

::

    client = phantom.Client()
    v = client.models.register("churn", "model.skops", signature=[
        {"name": "age", "type": "integer"}, {"name": "plan", "type": "string"},
    ])
    client.models.set_alias("churn", "production", v.version)
    client.models.alias_at("churn", "production", datetime(2026, 5, 1, tzinfo=UTC))
    client.models.predict("churn", [{"age": 34, "plan": "basic"}]).predictions
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from pydantic import TypeAdapter

from phantom.sdk.datasets import CHUNK_BYTES, file_chunks, iter_pages, save_stream
from phantom.sdk.errors import PhantomSdkError, ValidationError
from phantom.sdk.models import (
    AliasAssignment,
    ModelVersion,
    Prediction,
    RegisteredModel,
    Scalar,
)
from phantom.sdk.runs import new_idempotency_key
from phantom.sdk.transport import Transport
from phantom.sdk.wire import encode, segment

__all__ = [
    "MAX_UPLOAD_SIGNATURE_CHARS",
    "Instances",
    "Models",
    "check_instances",
    "check_signature",
]

Instances = Sequence[Sequence[Scalar] | Mapping[str, Scalar]]
"""Instances to score: arrays (features in signature order) or records."""

MAX_UPLOAD_SIGNATURE_CHARS: Final = 8_000
"""The longest signature (as compact JSON) that travels with an upload's URL."""
_VERSIONS: Final = TypeAdapter(list[ModelVersion])
_ASSIGNMENTS: Final = TypeAdapter(list[AliasAssignment])


def _invalid(field: str, detail: str) -> ValidationError:
    errors = [{"loc": [field], "msg": detail, "type": "value_error"}]
    return ValidationError(422, "invalid-field", "Invalid field", detail, errors)


def check_signature(entries: object) -> list[dict[str, object]]:
    """``entries`` as a signature: a list of objects, each with a string ``name``.

    Raises:
        ValidationError: anything else (checked before anything is uploaded).
    """
    if not isinstance(entries, list | tuple):
        detail = "a signature is a list of {name, type} objects, one per feature"
        raise _invalid("signature", detail)
    checked: list[dict[str, object]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            detail = f"signature[{index}] is not an object with a string name"
            raise _invalid("signature", detail)
        checked.append({str(key): value for key, value in entry.items()})
    return checked


def check_instances(instances: object) -> list[list[Scalar] | dict[str, Scalar]]:
    """``instances`` as a list of arrays or records (not their feature types).

    Raises:
        ValidationError: not a non-empty list of arrays or of objects.
    """
    if isinstance(instances, str | bytes) or not isinstance(instances, Sequence):
        detail = "instances must be a list of arrays or of objects"
        raise _invalid("instances", detail)
    if not instances:
        raise _invalid("instances", "instances must not be empty")
    rows: list[list[Scalar] | dict[str, Scalar]] = []
    for index, row in enumerate(instances):
        if isinstance(row, Mapping):
            rows.append(dict(row))
        elif isinstance(row, Sequence) and not isinstance(row, str | bytes):
            rows.append(list(row))
        else:
            detail = f"instances[{index}] must be an array or an object"
            raise _invalid("instances", detail)
    return rows


class Models:
    """The tenant's registered models (``/v1/models``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    # -- models and versions -----------------------------------------------

    def list(self) -> builtins.list[RegisteredModel]:
        """Every model of the tenant, by name."""
        return [
            RegisteredModel.model_validate(item)
            for item in iter_pages(self._transport, "/v1/models")
        ]

    def get(self, name: str) -> RegisteredModel:
        """One model, by name (:class:`NotFoundError` if none)."""
        response = self._transport.request("GET", f"/v1/models/{segment(name)}")
        return RegisteredModel.model_validate_json(response.content)

    def versions(self, name: str) -> builtins.list[ModelVersion]:
        """Every version of a model, newest first."""
        path = f"/v1/models/{segment(name)}/versions"
        return _VERSIONS.validate_json(self._transport.request("GET", path).content)

    def version(self, name: str, version: int) -> ModelVersion:
        """One version of a model."""
        path = f"/v1/models/{segment(name)}/versions/{int(version)}"
        response = self._transport.request("GET", path)
        return ModelVersion.model_validate_json(response.content)

    def register(
        self,
        name: str,
        path_or_bytes: str | os.PathLike[str] | bytes,
        *,
        description: str | None = None,
        signature: Sequence[Mapping[str, object]] | None = None,
    ) -> ModelVersion:
        """Upload a model file (skops, ONNX, XGBoost, LightGBM) as the next version.

        The model is created on its first version; a file is streamed from disk.
        ``signature`` lists the input features (``{name, type}``, ``type`` one of
        ``integer``, ``float``, ``boolean``, ``string``) in the model's order:
        predictions need it. It travels in the URL, so at most
        :data:`MAX_UPLOAD_SIGNATURE_CHARS` of JSON; for a longer one, attach the
        file to a run and use :meth:`register_artifact`.

        Raises:
            ValidationError: an unreadable file or a malformed or too long
                signature (nothing sent), or the server refused the file
                (``unsafe-model``...).
            PhantomSdkError: the server registered the version but ignored the
                signature (a server older than this SDK).
        """
        entries = None if signature is None else check_signature(signature)
        params: dict[str, str] = {}
        if description is not None:
            params["description"] = description
        if entries:
            params["signature"] = _upload_signature(entries)
        body, size = _body(path_or_bytes)
        response = self._transport.request(
            "POST",
            f"/v1/models/{segment(name)}/versions",
            params=params,
            content=body,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
            },
        )
        version = ModelVersion.model_validate_json(response.content)
        if entries and not version.signature:
            msg = (
                f"{version.name} v{version.version} was registered without its "
                "signature: this server does not take one with an upload"
            )
            raise PhantomSdkError(msg)
        return version

    def register_artifact(  # noqa: PLR0913 - a version's optional facts
        self,
        name: str,
        digest: str,
        *,
        signature: Sequence[Mapping[str, object]] | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        description: str | None = None,
        run_id: str | None = None,
        job_id: str | None = None,
        dataset_id: str | None = None,
        dataset_version: int | None = None,
        parent_version: int | None = None,
    ) -> ModelVersion:
        """Register bytes already stored (a run's model artifact) by their SHA-256.

        ``digest`` is an artifact's ``digest`` (``client.runs.log_artifact``'s
        answer, or a training job's ``model_digest``).
        """
        optional: dict[str, object] = {
            "signature": None if signature is None else check_signature(signature),
            "metrics": None if metrics is None else dict(metrics),
            "params": None if params is None else dict(params),
            "description": description,
            "run_id": run_id,
            "job_id": job_id,
            "dataset_id": dataset_id,
            "dataset_version": dataset_version,
            "parent_version": parent_version,
        }
        body = {"digest": digest} | {k: v for k, v in optional.items() if v is not None}
        response = self._transport.request(
            "POST",
            f"/v1/models/{segment(name)}/versions/from-artifact",
            json=encode(body),
            headers={"Idempotency-Key": new_idempotency_key()},
        )
        return ModelVersion.model_validate_json(response.content)

    def download(
        self, name: str, version: int, dest_path: str | os.PathLike[str]
    ) -> Path:
        """Save a version's file to ``dest_path`` (inside it, when a folder).

        The bytes are checked against the version's SHA-256.
        """
        path = f"/v1/models/{segment(name)}/versions/{int(version)}/content"
        target = Path(dest_path)
        if target.is_dir():
            target /= f"{Path(name).name}-v{int(version)}"
        with self._transport.stream("GET", path) as response:
            save_stream(
                response.iter_bytes(CHUNK_BYTES),
                target,
                response.headers.get("etag"),
                self._transport.base_url,
            )
        return target

    def archive(self, name: str, version: int) -> ModelVersion:
        """Archive a version: it keeps its bytes; no alias may point at it.

        Raises:
            ConflictError: an alias points at the version (move it first).
        """
        path = f"/v1/models/{segment(name)}/versions/{int(version)}/archive"
        response = self._transport.request("POST", path, idempotent=True)
        return ModelVersion.model_validate_json(response.content)

    # -- aliases ------------------------------------------------------------

    def aliases(self, name: str) -> builtins.list[AliasAssignment]:
        """The model's current aliases, by name."""
        path = f"/v1/models/{segment(name)}/aliases"
        return _ASSIGNMENTS.validate_json(self._transport.request("GET", path).content)

    def alias(self, name: str, alias: str) -> AliasAssignment:
        """The alias's current assignment (:class:`NotFoundError` if not set)."""
        return self._alias(name, alias, None)

    def alias_at(self, name: str, alias: str, at: datetime) -> AliasAssignment:
        """The assignment in force at ``at`` (a naive time is UTC).

        Raises:
            NotFoundError: the alias was not set at that time.
        """
        return self._alias(name, alias, at)

    def _alias(self, name: str, alias: str, at: datetime | None) -> AliasAssignment:
        path = f"/v1/models/{segment(name)}/aliases/{segment(alias)}"
        params = None if at is None else {"at": at.isoformat()}
        response = self._transport.request("GET", path, params=params)
        return AliasAssignment.model_validate_json(response.content)

    def set_alias(self, name: str, alias: str, version: int) -> AliasAssignment:
        """Point ``alias`` at ``version`` (already there: nothing changes)."""
        path = f"/v1/models/{segment(name)}/aliases/{segment(alias)}"
        body = encode({"version": int(version)})
        response = self._transport.request("PUT", path, json=body)
        return AliasAssignment.model_validate_json(response.content)

    def remove_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` (its history stays; :class:`NotFoundError` if unset)."""
        path = f"/v1/models/{segment(name)}/aliases/{segment(alias)}"
        self._transport.request("DELETE", path)

    def alias_history(self, name: str, alias: str) -> builtins.list[AliasAssignment]:
        """Every assignment of the alias, oldest first (empty if never set)."""
        path = f"/v1/models/{segment(name)}/aliases/{segment(alias)}/history"
        return _ASSIGNMENTS.validate_json(self._transport.request("GET", path).content)

    # -- predictions ----------------------------------------------------------

    def predict(
        self,
        name: str,
        instances: Instances,
        *,
        version: int | None = None,
        alias: str | None = None,
        key: str | None = None,
    ) -> Prediction:
        """Score ``instances`` with a version, or an alias's (``production``).

        Instances are arrays (features in signature order) or records. ``key``
        pins a caller to one side of a canary (the same key, the same version).

        Raises:
            ValidationError: the instances do not fit the model's signature (the
                detail names the instance and the feature).
            NotFoundError: no such model, version, or alias.
        """
        body: dict[str, object] = {"instances": check_instances(instances)}
        optional = {"version": version, "alias": alias, "key": key}
        body.update({k: v for k, v in optional.items() if v is not None})
        path = f"/v1/models/{segment(name)}/predict"
        response = self._transport.request("POST", path, json=encode(body))
        return Prediction.model_validate_json(response.content)


def _upload_signature(entries: builtins.list[dict[str, object]]) -> str:
    text = encode(entries).decode()
    if len(text) > MAX_UPLOAD_SIGNATURE_CHARS:
        detail = (
            f"a signature sent with an upload is at most "
            f"{MAX_UPLOAD_SIGNATURE_CHARS} characters of JSON (this one is "
            f"{len(text)}); attach the file to a run and use register_artifact"
        )
        raise _invalid("signature", detail)
    return text


def _body(
    path_or_bytes: str | os.PathLike[str] | bytes,
) -> tuple[bytes | Callable[[], Iterator[bytes]], int]:
    if isinstance(path_or_bytes, bytes):
        return path_or_bytes, len(path_or_bytes)
    path = Path(path_or_bytes)
    try:
        size = path.stat().st_size
    except OSError as exc:
        detail = f"cannot read {path}: {exc.strerror}"
        raise ValidationError(422, "invalid-file", "Invalid file", detail) from None
    if not path.is_file():
        detail = f"cannot read {path}: not a file"
        raise ValidationError(422, "invalid-file", "Invalid file", detail)
    return file_chunks(path), size
