"""THE exception handlers of the gateway: every error becomes RFC 9457 problem+json.

One place renders every failure a client can see:

* :class:`~phantom.kernel.errors.PhantomError` and subclasses, with their status;
* FastAPI's ``RequestValidationError``: 422 with an ``errors`` list of
  ``{loc, msg, type}`` (never the offending input), or 400 when the body is not JSON;
* Starlette's ``HTTPException`` (404 unknown route, 405 wrong method, ...);
* anything else: 500 with a generic detail; the traceback goes to the server log.

Every body carries ``instance`` (the request path) and ``request_id``. The module
also documents these responses in the OpenAPI schema (:func:`document_problems`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

import structlog
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from phantom.kernel.errors import (
    PROBLEM_TYPE_BASE,
    InvalidInput,
    NotFound,
    PhantomError,
    problem_body,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.types import Scope

__all__ = [
    "CHALLENGE",
    "PROBLEM_MEDIA_TYPE",
    "FieldError",
    "MalformedBody",
    "MethodNotAllowed",
    "Problem",
    "ValidationProblem",
    "document_problems",
    "install_problem_handlers",
    "internal_error_response",
    "problem_response",
    "problem_responses",
    "request_id_of",
]

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
_MAX_MSG_CHARS: Final = 300
_MAX_ERRORS: Final = 50
_SCHEMA_REF: Final = "#/components/schemas/{model}"
CHALLENGE: Final = 'Bearer realm="phantom"'
"""The ``WWW-Authenticate`` challenge a 401 carries (RFC 6750)."""


class MalformedBody(InvalidInput):
    """The request body could not be parsed at all (not valid JSON)."""

    code = "malformed-body"
    status = 400
    title = "Malformed request body"


class MethodNotAllowed(PhantomError):
    """The path exists but does not accept this HTTP method."""

    code = "method-not-allowed"
    status = 405
    title = "Method not allowed"


class FieldError(BaseModel):
    """One failed validation: where, what, and the error's machine type."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem details object, as every Phantom error is rendered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None


class ValidationProblem(Problem):
    """A 422 problem listing every field that failed validation."""

    errors: list[FieldError]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def request_id_of(scope: Scope) -> str | None:
    """The request id the request-context middleware stored in ``scope``."""
    state = scope.get("state")
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def _render(
    body: dict[str, object], status: int, headers: Mapping[str, str] | None
) -> JSONResponse:
    return JSONResponse(
        body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def problem_response(
    error: PhantomError,
    scope: Scope,
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Render ``error`` as a problem+json response for the request in ``scope``."""
    body = problem_body(
        error, instance=str(scope.get("path", "")), request_id=request_id_of(scope)
    )
    return _render(body, error.status, headers)


def _http_problem(
    status: int, detail: str | None, scope: Scope, headers: Mapping[str, str]
) -> JSONResponse:
    """A problem for a framework HTTP error that has no Phantom error class."""
    title = _phrase(status)
    code = title.lower().replace(" ", "-")
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        "instance": str(scope.get("path", "")),
        "request_id": request_id_of(scope),
    }
    return _render(body, status, headers)


def internal_error_response(scope: Scope, exc: BaseException) -> JSONResponse:
    """Log ``exc`` with its traceback and answer a generic 500 problem."""
    log.error(
        "gateway.unhandled_error",
        method=scope.get("method"),
        path=scope.get("path"),
        error_type=type(exc).__name__,
        exc_info=exc,
    )
    error = PhantomError(
        "The server failed to handle this request; it has been logged "
        "under the request id."
    )
    return problem_response(error, scope)


def _field_errors(errors: Sequence[Any]) -> list[dict[str, object]]:
    fields: list[dict[str, object]] = []
    for error in errors[:_MAX_ERRORS]:
        loc = [p if isinstance(p, int) else str(p)[:100] for p in error.get("loc", ())]
        msg = str(error.get("msg", "invalid value"))[:_MAX_MSG_CHARS]
        fields.append({"loc": loc, "msg": msg, "type": str(error.get("type", ""))})
    return fields


async def _on_phantom_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, PhantomError):  # registered for PhantomError only
        return internal_error_response(request.scope, exc)
    if exc.status >= 500:
        log.warning("gateway.error", code=exc.code, detail=exc.detail)
    headers = {"WWW-Authenticate": CHALLENGE} if exc.status == 401 else None
    return problem_response(exc, request.scope, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for it only
        return internal_error_response(request.scope, exc)
    errors = list(exc.errors())
    invalid_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if invalid_json is not None:
        reason = (invalid_json.get("ctx") or {}).get("error", "malformed")
        loc = invalid_json.get("loc", ())
        where = f" at position {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        detail = f"The body is not valid JSON: {str(reason)[:100]}{where}."
        return problem_response(MalformedBody(detail), request.scope)
    fields = _field_errors(errors)
    noun = "field" if len(fields) == 1 else "fields"
    detail = f"The request failed validation ({len(fields)} {noun}); see errors."
    return problem_response(InvalidInput(detail, errors=fields), request.scope)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for it only
        return internal_error_response(request.scope, exc)
    headers = dict(exc.headers or {})
    error: PhantomError
    if exc.status_code == 404:
        error = NotFound("No route matches this path.")
    elif exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        method = request.method
        error = MethodNotAllowed(
            f"Method {method} is not allowed on this path; allowed: {allowed}."
        )
    else:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return _http_problem(exc.status_code, detail, request.scope, headers)
    return problem_response(error, request.scope, headers=headers)


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    return internal_error_response(request.scope, exc)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the gateway's exception handlers on ``app``.

    Exceptions nothing else handles are rendered by the request-context middleware
    with :func:`internal_error_response`, so the 500 also carries the request id;
    the same renderer is Starlette's last-resort handler for anything raised
    outside that middleware.
    """
    app.add_exception_handler(PhantomError, _on_phantom_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unhandled)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting problem+json answers for ``statuses``."""
    return {
        status: {"model": Problem, "description": _phrase(status)}
        for status in statuses
    }


def _components() -> dict[str, Any]:
    template = _SCHEMA_REF
    schema = ValidationProblem.model_json_schema(ref_template=template)
    components: dict[str, Any] = dict(schema.pop("$defs", {}))
    components["ValidationProblem"] = schema
    components["Problem"] = Problem.model_json_schema(ref_template=template)
    return components


def _problem_content(model: str) -> dict[str, Any]:
    ref = _SCHEMA_REF.format(model=model)
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": ref}}}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI document so every error response is problem+json.

    422 responses use :class:`ValidationProblem`; other 4xx/5xx responses and a
    ``default`` response use :class:`Problem`. FastAPI's own validation schemas are
    dropped.
    """
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.update(_components())
    for path_item in openapi.get("paths", {}).values():
        for operation in path_item.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    model = "ValidationProblem" if status == "422" else "Problem"
                    response["content"] = _problem_content(model)
            responses.setdefault(
                "default",
                {"description": "Problem", "content": _problem_content("Problem")},
            )
    return openapi
