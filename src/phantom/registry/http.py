"""The registry context's HTTP routes (all tenant-scoped, all in OpenAPI).

::

    GET    /v1/models                                         a page of models
    GET    /v1/models/{name}                                  one model
    GET    /v1/models/{name}/versions                         its versions, newest first
    POST   /v1/models/{name}/versions                         upload a model file (raw)
    POST   /v1/models/{name}/versions/from-artifact           register stored bytes
    GET    /v1/models/{name}/versions/{version}               one version
    GET    /v1/models/{name}/versions/{version}/content       its bytes
    POST   /v1/models/{name}/versions/{version}/archive       archive it
    GET    /v1/models/{name}/aliases                          current aliases
    GET    /v1/models/{name}/aliases/{alias}                  one alias (``?at=`` time)
    PUT    /v1/models/{name}/aliases/{alias}                  point it at a version
    DELETE /v1/models/{name}/aliases/{alias}                  remove it
    GET    /v1/models/{name}/aliases/{alias}/history          every assignment

Uploads are raw request bodies streamed to a spooled temporary file, bounded by
``PHANTOM_MAX_UPLOAD_BYTES``. The gateway has already authenticated the caller and
checked the route's permission; the service checks again and acts as them.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at
# runtime.

import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import IO, Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from phantom.kernel.errors import InvalidField, PayloadTooLarge
from phantom.registry.api import AliasAssignment, ModelInfo, ModelVersionInfo
from phantom.registry.service import Lineage, RegistryService, VersionFacts
from phantom.tenancy.api import Page, Principal, request_principal

__all__ = ["registry_router"]

_SPOOL_BYTES: Final = 8 * 1024 * 1024
_CHUNK: Final = 1024 * 1024
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
    404: {"description": "Not found (also another tenant's names)"},
    422: {"description": "Invalid input"},
}
_WRITES: Final[dict[int | str, dict[str, Any]]] = {
    **_ERRORS,
    409: {"description": "Conflict"},
    413: {"description": "Payload too large"},
    429: {"description": "Quota or rate limit"},
}

Caller = Annotated[Principal, Depends(request_principal)]
Name = Annotated[str, Path(min_length=1, max_length=100)]
Alias = Annotated[str, Path(min_length=1, max_length=40)]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
After = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Number = Annotated[int, Field(ge=1, le=2**31 - 1)]
Metric = Annotated[float, Field(allow_inf_nan=False)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArtifactRegistration(_Body):
    """``POST /v1/models/{name}/versions/from-artifact``: bytes already stored."""

    digest: Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
    format: Annotated[str, Field(max_length=16)] | None = None
    signature: Annotated[list[dict[str, Any]], Field(max_length=10_000)] | None = None
    metrics: dict[str, Metric] | None = None
    params: dict[str, Annotated[str, Field(max_length=6000)]] | None = None
    run_id: Id | None = None
    job_id: Id | None = None
    dataset_id: Id | None = None
    dataset_version: Number | None = None
    parent_version: Number | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None


class AliasUpdate(_Body):
    """``PUT /v1/models/{name}/aliases/{alias}``: the version to point at."""

    version: Number


async def _spool(request: Request, limit: int) -> IO[bytes]:
    """The request body in a spooled temporary file (memory, then disk)."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - handed on
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            spool.close()
            msg = f"The upload exceeds the limit of {limit} bytes."
            raise PayloadTooLarge(msg, max_bytes=limit)
        spool.write(chunk)
    spool.seek(0)
    return spool


def _signature_param(text: str | None) -> list[dict[str, Any]]:
    """The ``signature`` query parameter as entries (``[]`` when absent).

    Raises:
        InvalidField: it is not a JSON list of objects with a string ``name``.
    """
    if text is None:
        return []
    try:
        entries = json.loads(text)
    except ValueError:
        raise InvalidField("signature", "is not JSON") from None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
    ):
        msg = "must be a JSON list of {name, type} objects, one per feature"
        raise InvalidField("signature", msg)
    return entries


def registry_router(service: RegistryService, max_upload_bytes: int) -> APIRouter:
    """The registry routes over ``service`` (see the module docstring)."""
    router = APIRouter(prefix="/v1")
    _model_routes(router, service)
    _version_routes(router, service, max_upload_bytes)
    _alias_routes(router, service)
    return router


def _model_routes(router: APIRouter, service: RegistryService) -> None:
    tags: list[str | Any] = ["models"]

    @router.get("/models", tags=tags, operation_id="list_models", responses=_ERRORS)
    async def list_models(
        caller: Caller, after: After = None, limit: Limit = 50
    ) -> Page[ModelInfo]:
        """A page of the tenant's models, by name."""
        return await run_in_threadpool(
            service.list_models, caller, after=after, limit=limit
        )

    @router.get(
        "/models/{name}", tags=tags, operation_id="get_model", responses=_ERRORS
    )
    async def get_model(caller: Caller, name: Name) -> ModelInfo:
        """One model, by name."""
        return await run_in_threadpool(service.get_model, caller, name)


def _version_routes(router: APIRouter, service: RegistryService, limit: int) -> None:
    tags: list[str | Any] = ["models"]

    @router.get(
        "/models/{name}/versions",
        tags=tags,
        operation_id="list_model_versions",
        responses=_ERRORS,
    )
    async def list_versions(caller: Caller, name: Name) -> list[ModelVersionInfo]:
        """Every version of a model, newest first."""
        return await run_in_threadpool(service.list_versions, caller, name)

    @router.post(
        "/models/{name}/versions",
        status_code=201,
        tags=tags,
        operation_id="upload_model_version",
        responses=_WRITES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}
                    }
                },
            }
        },
    )
    async def upload_version(
        caller: Caller,
        name: Name,
        request: Request,
        description: Annotated[str | None, Query(max_length=2000)] = None,
        signature: Annotated[str | None, Query(max_length=8_000)] = None,
    ) -> ModelVersionInfo:
        """Upload a model file (skops, ONNX, XGBoost, LightGBM) as the next version.

        The bytes are checked first: a pickle, or a file naming untrusted types,
        answers 422 ``unsafe-model`` and stores nothing. The model is created on
        its first version. ``signature`` is the input features as compact JSON
        (``[{"name": "age", "type": "integer"}, ...]``); without one, serving
        uses the feature names the model itself was fitted with.
        """
        entries = _signature_param(signature)
        spool = await _spool(request, limit)
        try:
            return await run_in_threadpool(
                service.upload_version,
                caller,
                name,
                spool,
                VersionFacts(description=description, signature=entries),
            )
        finally:
            spool.close()

    @router.post(
        "/models/{name}/versions/from-artifact",
        status_code=201,
        tags=tags,
        operation_id="register_model_artifact",
        responses=_WRITES,
    )
    async def register_artifact(
        caller: Caller, name: Name, body: ArtifactRegistration
    ) -> ModelVersionInfo:
        """Register bytes already in the tenant's artifact store (a run's model)."""
        facts = VersionFacts(
            declared_format=body.format,
            description=body.description,
            signature=body.signature or [],
            metrics=body.metrics or {},
            params=body.params or {},
            lineage=Lineage(
                dataset_id=body.dataset_id,
                dataset_version=body.dataset_version,
                run_id=body.run_id,
                job_id=body.job_id,
                parent_version=body.parent_version,
            ),
        )
        return await run_in_threadpool(
            service.register_artifact, caller, name, body.digest, facts
        )

    @router.get(
        "/models/{name}/versions/{version}",
        tags=tags,
        operation_id="get_model_version",
        responses=_ERRORS,
    )
    async def get_version(
        caller: Caller, name: Name, version: Version
    ) -> ModelVersionInfo:
        """One version of a model."""
        return await run_in_threadpool(service.get_version, caller, name, version)

    @router.get(
        "/models/{name}/versions/{version}/content",
        tags=tags,
        operation_id="download_model_version",
        responses={**_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
        response_class=StreamingResponse,
    )
    async def download_version(
        caller: Caller, name: Name, version: Version
    ) -> StreamingResponse:
        """The version's file, byte for byte as registered."""
        info = await run_in_threadpool(service.get_version, caller, name, version)

        def chunks() -> Iterator[bytes]:
            with service.open_version(caller, name, version) as (_, stream):
                while chunk := stream.read(_CHUNK):
                    yield chunk

        body: AsyncIterator[bytes] = iterate_in_threadpool(chunks())
        return StreamingResponse(
            body,
            media_type="application/octet-stream",
            headers={
                "ETag": f'"{info.digest}"',
                "Content-Length": str(info.size_bytes),
            },
        )

    @router.post(
        "/models/{name}/versions/{version}/archive",
        tags=tags,
        operation_id="archive_model_version",
        responses=_WRITES,
    )
    async def archive_version(
        caller: Caller, name: Name, version: Version
    ) -> ModelVersionInfo:
        """Archive a version: it keeps its bytes; no alias may point at it."""
        return await run_in_threadpool(service.archive_version, caller, name, version)


def _alias_routes(router: APIRouter, service: RegistryService) -> None:
    tags: list[str | Any] = ["models"]

    @router.get(
        "/models/{name}/aliases",
        tags=tags,
        operation_id="list_model_aliases",
        responses=_ERRORS,
    )
    async def list_aliases(caller: Caller, name: Name) -> list[AliasAssignment]:
        """The model's current aliases."""
        return await run_in_threadpool(service.list_aliases, caller, name)

    @router.get(
        "/models/{name}/aliases/{alias}",
        tags=tags,
        operation_id="get_model_alias",
        responses=_ERRORS,
    )
    async def get_alias(
        caller: Caller,
        name: Name,
        alias: Alias,
        at: Annotated[datetime | None, Query()] = None,
    ) -> AliasAssignment:
        """The alias now, or (``at``) the assignment in force at that time."""
        return await run_in_threadpool(service.get_alias, caller, name, alias, at)

    @router.put(
        "/models/{name}/aliases/{alias}",
        tags=tags,
        operation_id="set_model_alias",
        responses=_WRITES,
    )
    async def set_alias(
        caller: Caller, name: Name, alias: Alias, body: AliasUpdate
    ) -> AliasAssignment:
        """Point the alias at a version (unchanged: nothing happens)."""
        return await run_in_threadpool(
            service.set_alias, caller, name, alias, body.version
        )

    @router.delete(
        "/models/{name}/aliases/{alias}",
        status_code=204,
        tags=tags,
        operation_id="remove_model_alias",
        responses=_WRITES,
    )
    async def remove_alias(caller: Caller, name: Name, alias: Alias) -> Response:
        """Remove the alias (its history stays)."""
        await run_in_threadpool(service.remove_alias, caller, name, alias)
        return Response(status_code=204)

    @router.get(
        "/models/{name}/aliases/{alias}/history",
        tags=tags,
        operation_id="get_model_alias_history",
        responses=_ERRORS,
    )
    async def alias_history(
        caller: Caller, name: Name, alias: Alias
    ) -> list[AliasAssignment]:
        """Every assignment of the alias, oldest first, with its from/to times."""
        return await run_in_threadpool(service.alias_history, caller, name, alias)
