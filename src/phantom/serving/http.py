"""The serving context's HTTP routes (tenant-scoped, all in OpenAPI).

::

    POST /v1/models/{name}/predict                    score records or arrays
    POST /v1/deployments                              run a deploy saga (canary, shadow)
    POST /v1/deployments/rollback                     point an alias back
    GET  /v1/deployments                              a page of deployments
    GET  /v1/deployments/{deployment_id}              one deployment and its steps

Open Inference Protocol v2 (JSON), so existing v2 clients work unchanged::

    GET  /v2                                          server metadata
    GET  /v2/health/live | /v2/health/ready           liveness, readiness
    GET  /v2/models/{name}[/versions/{version}]       model metadata
    GET  /v2/models/{name}[/versions/{version}]/ready whether it can answer
    POST /v2/models/{name}[/versions/{version}]/infer inference

Without a version, the v2 routes use the ``production`` alias. The gateway has
already authenticated the caller and checked the route's permission.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at
# runtime.

from typing import Annotated, Any, Final, Literal

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from phantom import __version__
from phantom.kernel.errors import InvalidInput
from phantom.serving.api import DeploymentInfo, PredictionResult
from phantom.serving.domain.signature import MAX_INSTANCES, InvalidInstances
from phantom.serving.saga import DeploySaga
from phantom.serving.service import DEFAULT_ALIAS, ServingService
from phantom.tenancy.api import Page, Principal, request_principal

__all__ = ["serving_router"]

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
    404: {"description": "Not found (also another tenant's names)"},
    422: {"description": "Invalid input (names the instance and feature)"},
}
_WRITES: Final[dict[int | str, dict[str, Any]]] = {
    **_ERRORS,
    409: {"description": "Another deployment of the alias is running"},
}
_JSON: Final = "application/json"

Caller = Annotated[Principal, Depends(request_principal)]
Name = Annotated[str, Path(min_length=1, max_length=100)]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
AliasName = Annotated[str, Field(min_length=1, max_length=40)]
Number = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Body):
    """``POST /v1/models/{name}/predict``."""

    instances: Annotated[list[Any], Field(min_length=1, max_length=MAX_INSTANCES)]
    version: Number | None = None
    alias: AliasName | None = None
    key: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class DeployRequest(_Body):
    """``POST /v1/deployments``: deploy a version, or start a canary or shadow."""

    model: Annotated[str, Field(min_length=1, max_length=100)]
    version: Number
    alias: AliasName = DEFAULT_ALIAS
    canary_percent: Annotated[int, Field(ge=1, le=99)] | None = None
    shadow: bool = False


class RollbackRequest(_Body):
    """``POST /v1/deployments/rollback``."""

    model: Annotated[str, Field(min_length=1, max_length=100)]
    alias: AliasName = DEFAULT_ALIAS


class V2Tensor(BaseModel):
    """An OIP v2 input tensor (JSON data, row-major)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    shape: Annotated[
        list[Annotated[int, Field(ge=0)]], Field(min_length=1, max_length=2)
    ]
    datatype: Literal[
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
        "BYTES",
    ]
    data: list[Any]
    parameters: dict[str, Any] | None = None


class V2RequestedOutput(BaseModel):
    """An output the client asks for."""

    name: str
    parameters: dict[str, Any] | None = None


class V2InferRequest(BaseModel):
    """An OIP v2 inference request."""

    id: Annotated[str, Field(max_length=200)] | None = None
    inputs: Annotated[list[V2Tensor], Field(min_length=1, max_length=10_000)]
    outputs: list[V2RequestedOutput] | None = None
    parameters: dict[str, Any] | None = None


def _json(content: object, status: int = 200) -> Response:
    return Response(to_json(content), status_code=status, media_type=_JSON)


def _flat(values: list[Any]) -> list[Any]:
    if values and isinstance(values[0], list):
        return np.asarray(values, dtype=object).reshape(-1).tolist()
    return values


def v2_instances(request: V2InferRequest) -> list[Any]:
    """The instances an OIP v2 request carries.

    One ``[rows, features]`` tensor gives arrays (features in signature order);
    one ``[rows]`` (or ``[rows, 1]``) tensor per feature, named after it, gives
    records.

    Raises:
        InvalidInstances: a tensor's data does not fill its shape, or tensors
            disagree on the number of rows.
    """
    tensors = request.inputs
    if len(tensors) == 1 and len(tensors[0].shape) == 2:
        tensor = tensors[0]
        rows, width = tensor.shape
        data = _flat(tensor.data)
        if len(data) != rows * width:
            msg = (
                f"has {len(data)} values; its shape {tensor.shape} needs {rows * width}"
            )
            raise InvalidInstances(["inputs", 0, "data"], msg)
        return [data[i * width : (i + 1) * width] for i in range(rows)]
    columns: dict[str, list[Any]] = {}
    count: int | None = None
    for index, tensor in enumerate(tensors):
        data = _flat(tensor.data)
        rows = tensor.shape[0]
        wide = len(tensor.shape) == 2 and tensor.shape[1] != 1
        if wide or len(data) != rows:
            msg = "a per-feature tensor has shape [rows] or [rows, 1], one value a row"
            raise InvalidInstances(["inputs", index, "shape"], msg)
        if count is not None and rows != count:
            msg = f"has {rows} rows where the first input has {count}"
            raise InvalidInstances(["inputs", index, "shape"], msg)
        count = rows
        columns[tensor.name] = data
    if not count:
        raise InvalidInstances(["inputs"], "holds no rows")
    return [{name: values[i] for name, values in columns.items()} for i in range(count)]


def _datatype(values: list[Any]) -> str:
    sample = values[0] if values else 0.0
    while isinstance(sample, list) and sample:
        sample = sample[0]
    if isinstance(sample, bool):
        return "BOOL"
    if isinstance(sample, int):
        return "INT64"
    if isinstance(sample, float):
        return "FP64"
    return "BYTES"


def v2_response(answer: dict[str, Any], request: V2InferRequest) -> dict[str, Any]:
    """The OIP v2 response for a prediction ``answer``."""
    predictions: list[Any] = answer["predictions"]
    outputs = [
        {
            "name": "predict",
            "datatype": _datatype(predictions),
            "shape": [len(predictions)],
            "data": predictions,
        }
    ]
    proba = answer["probabilities"]
    if proba is not None:
        width = len(proba[0]) if proba else 0
        outputs.append(
            {
                "name": "predict_proba",
                "datatype": "FP64",
                "shape": [len(proba), width],
                "data": [p for row in proba for p in row],
            }
        )
    if request.outputs:
        wanted = {o.name for o in request.outputs}
        unknown = sorted(wanted - {o["name"] for o in outputs})
        if unknown:
            known = [o["name"] for o in outputs]
            msg = f"unknown outputs {unknown}; this model has {known}"
            raise InvalidInput(msg)
        outputs = [o for o in outputs if o["name"] in wanted]
    return {
        "model_name": answer["model"],
        "model_version": str(answer["version"]),
        "id": request.id or answer["prediction_id"],
        "parameters": {"prediction_id": answer["prediction_id"]},
        "outputs": outputs,
    }


def serving_router(serving: ServingService, deployments: DeploySaga) -> APIRouter:
    """The serving routes over ``serving`` and ``deployments``."""
    router = APIRouter()
    _predict_routes(router, serving)
    # Generic v2 clients (tritonclient among them) post JSON without a
    # Content-Type header; these routes take an API key or token header, never
    # a cookie, so reading such a body opens no cross-site request forgery.
    v2 = APIRouter(strict_content_type=False)
    _v2_routes(v2, serving)
    router.include_router(v2)
    _deployment_routes(router, deployments)
    return router


def _parsed(raw: bytes) -> PredictRequest:
    """The body parsed and validated in one pass by pydantic-core.

    FastAPI would parse it with the standard library's ``json`` first, which
    for 100 rows of 20 features costs more than scoring them.

    Raises:
        RequestValidationError: the body is not JSON or not a predict request
            (the gateway answers 400 or 422, as for any route).
    """
    try:
        return PredictRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from None


_PREDICT_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
    }
}


def _predict_routes(router: APIRouter, serving: ServingService) -> None:
    @router.post(
        "/v1/models/{name}/predict",
        tags=["predictions"],
        operation_id="predict",
        responses={200: {"model": PredictionResult}, **_ERRORS},
        response_class=Response,
        openapi_extra=_PREDICT_BODY,
    )
    async def predict(caller: Caller, name: Name, request: Request) -> Response:
        """Score instances with a version, or an alias's (``production`` by default).

        Instances are records (``{"feature": value}``) or arrays in the
        signature's order. ``key`` keeps a caller on one side of a canary. A
        missing, unknown or mistyped feature is a 422 that names it.
        """
        body = _parsed(await request.body())
        answer = await serving.predict(
            caller,
            name,
            body.instances,
            version=body.version,
            alias=body.alias,
            key=body.key,
        )
        return _json(answer)


def _v2_metadata(
    serving: ServingService, caller: Principal, name: str, version: int | None
) -> dict[str, Any]:
    info, served = serving.describe(caller, name, version)
    signature = served.signature
    if signature is None or signature.numeric:
        width = -1 if signature is None else len(signature.names)
        inputs = [{"name": "input", "datatype": "FP64", "shape": [-1, width]}]
    else:
        kinds = {
            "integer": "INT64",
            "float": "FP64",
            "boolean": "BOOL",
            "string": "BYTES",
        }
        inputs = [
            {"name": n, "datatype": kinds[t], "shape": [-1]}
            for n, t in zip(signature.names, signature.types, strict=True)
        ]
    outputs: list[dict[str, Any]] = [
        {"name": "predict", "datatype": "FP64", "shape": [-1]}
    ]
    if served.model.predict_proba is not None:
        width = -1 if served.classes is None else len(served.classes)
        outputs.append(
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, width]}
        )
    return {
        "name": name,
        "versions": [str(info.version)],
        "platform": f"phantom-{served.format}",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {
            "features": None if signature is None else list(signature.names),
            "classes": None if served.classes is None else list(served.classes),
        },
    }


def _v2_routes(router: APIRouter, serving: ServingService) -> None:  # noqa: C901 - one route each
    tags: list[Any] = ["open inference protocol v2"]

    @router.get("/v2", tags=tags, operation_id="v2_server_metadata")
    async def server_metadata() -> dict[str, Any]:
        """The server's name, version and protocol extensions (none)."""
        return {"name": "phantom", "version": __version__, "extensions": []}

    @router.get("/v2/health/live", tags=tags, operation_id="v2_live")
    async def live() -> dict[str, bool]:
        """The server is up."""
        return {"live": True}

    @router.get("/v2/health/ready", tags=tags, operation_id="v2_ready")
    async def ready() -> dict[str, bool]:
        """The server can take inference requests."""
        return {"ready": True}

    @router.get(
        "/v2/models/{name}",
        tags=tags,
        operation_id="v2_model_metadata",
        responses=_ERRORS,
    )
    async def metadata(caller: Caller, name: Name) -> dict[str, Any]:
        """The model's (production alias) inputs, outputs and version."""
        return await run_in_threadpool(_v2_metadata, serving, caller, name, None)

    @router.get(
        "/v2/models/{name}/versions/{version}",
        tags=tags,
        operation_id="v2_model_version_metadata",
        responses=_ERRORS,
    )
    async def version_metadata(
        caller: Caller, name: Name, version: Version
    ) -> dict[str, Any]:
        """One version's inputs and outputs."""
        return await run_in_threadpool(_v2_metadata, serving, caller, name, version)

    async def _ready(
        caller: Principal, name: str, version: int | None
    ) -> dict[str, Any]:
        info, _ = await run_in_threadpool(serving.describe, caller, name, version)
        return {"name": name, "version": str(info.version), "ready": True}

    @router.get(
        "/v2/models/{name}/ready",
        tags=tags,
        operation_id="v2_model_ready",
        responses=_ERRORS,
    )
    async def model_ready(caller: Caller, name: Name) -> dict[str, Any]:
        """200 once the model (production alias) is loaded and can answer."""
        return await _ready(caller, name, None)

    @router.get(
        "/v2/models/{name}/versions/{version}/ready",
        tags=tags,
        operation_id="v2_model_version_ready",
        responses=_ERRORS,
    )
    async def version_ready(
        caller: Caller, name: Name, version: Version
    ) -> dict[str, Any]:
        """200 once the version is loaded and can answer."""
        return await _ready(caller, name, version)

    async def _infer(
        caller: Principal, name: str, version: int | None, body: V2InferRequest
    ) -> Response:
        instances = v2_instances(body)
        answer = await serving.predict(caller, name, instances, version=version)
        return _json(v2_response(answer, body))

    @router.post(
        "/v2/models/{name}/infer",
        tags=tags,
        operation_id="v2_infer",
        responses=_ERRORS,
        response_class=Response,
    )
    async def infer(caller: Caller, name: Name, body: V2InferRequest) -> Response:
        """OIP v2 inference with the production alias's version (canary included)."""
        return await _infer(caller, name, None, body)

    @router.post(
        "/v2/models/{name}/versions/{version}/infer",
        tags=tags,
        operation_id="v2_infer_version",
        responses=_ERRORS,
        response_class=Response,
    )
    async def infer_version(
        caller: Caller, name: Name, version: Version, body: V2InferRequest
    ) -> Response:
        """OIP v2 inference with one version."""
        return await _infer(caller, name, version, body)


def _deployment_routes(router: APIRouter, saga: DeploySaga) -> None:
    tags: list[Any] = ["deployments"]

    @router.post(
        "/v1/deployments",
        tags=tags,
        operation_id="create_deployment",
        status_code=201,
        responses=_WRITES,
    )
    async def deploy(caller: Caller, body: DeployRequest) -> DeploymentInfo:
        """Run the deploy saga: validate, convert, warm, switch, audit.

        Answers once the saga has ended: ``state`` is ``succeeded``, or
        ``compensated`` (a step failed and what was done was undone: nothing
        served changed; ``error`` says why), or ``failed`` (undoing failed too).
        """
        return await run_in_threadpool(
            saga.deploy,
            caller,
            body.model,
            body.version,
            alias=body.alias,
            canary_percent=body.canary_percent,
            shadow=body.shadow,
        )

    @router.post(
        "/v1/deployments/rollback",
        tags=tags,
        operation_id="rollback_deployment",
        status_code=201,
        responses=_WRITES,
    )
    async def rollback(caller: Caller, body: RollbackRequest) -> DeploymentInfo:
        """Point the alias back at the version it served before; clear canaries."""
        return await run_in_threadpool(
            saga.rollback, caller, body.model, alias=body.alias
        )

    @router.get(
        "/v1/deployments", tags=tags, operation_id="list_deployments", responses=_ERRORS
    )
    async def list_deployments(
        caller: Caller,
        model: Annotated[str | None, Query(max_length=100)] = None,
        after: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Page[DeploymentInfo]:
        """A page of deployments, newest first (``model`` narrows to one model)."""
        return await run_in_threadpool(
            saga.page, caller, model=model, after=after, limit=limit
        )

    @router.get(
        "/v1/deployments/{deployment_id}",
        tags=tags,
        operation_id="get_deployment",
        responses=_ERRORS,
    )
    async def get_deployment(
        caller: Caller, deployment_id: Annotated[str, Path(min_length=1, max_length=64)]
    ) -> DeploymentInfo:
        """One deployment and its steps."""
        return await run_in_threadpool(saga.get, caller, deployment_id)
