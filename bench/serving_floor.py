"""The floor of ``bench.serving``: the least a Python model endpoint can do.

Two ASGI apps over the same ONNX Runtime sessions, one ``<name>.onnx`` per model
in the folder ``$BENCH_SERVING_ONNX_DIR`` (converted by ``skl2onnx``, ZipMap off,
one float32 input), each run alone in one uvicorn worker:

* ``app``: FastAPI; the body ``{"instances": [[...], ...]}`` is parsed by a
  pydantic model; the answer is ``{"predictions": [...], "probabilities": [...]}``;
* ``bare``: the same route on plain Starlette, the body read with ``json.loads``.

No authentication, no logging, no validation beyond the body's shape; the model
runs on the event loop (one call is microseconds). ``GET /healthz`` answers 200.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["app", "bare", "sessions"]


def sessions(folder: Path) -> dict[str, ort.InferenceSession]:
    """One single-threaded CPU session per ``<name>.onnx`` in ``folder``."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return {
        path.stem: ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        for path in sorted(folder.glob("*.onnx"))
    }


_SESSIONS = sessions(Path(os.environ.get("BENCH_SERVING_ONNX_DIR", ".")))


def _predict(name: str, instances: Any) -> dict[str, Any] | None:
    session = _SESSIONS.get(name)
    if session is None:
        return None
    matrix = np.asarray(instances, dtype=np.float32)
    labels, probabilities = session.run(None, {"input": matrix})
    return {"predictions": labels.tolist(), "probabilities": probabilities.tolist()}


class Instances(BaseModel):
    """The request body."""

    instances: list[list[float]]


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@app.post("/predict/{name}")
async def predict(name: str, body: Instances) -> dict[str, Any]:
    """Run model ``name`` on the instances."""
    answer = _predict(name, body.instances)
    if answer is None:
        raise HTTPException(404, "no such model")
    return answer


async def _bare_predict(request: Request) -> Response:
    body = json.loads(await request.body())
    answer = _predict(request.path_params["name"], body["instances"])
    if answer is None:
        return PlainTextResponse("no such model", status_code=404)
    return JSONResponse(answer)


async def _bare_healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


bare = Starlette(
    routes=[
        Route("/healthz", _bare_healthz),
        Route("/predict/{name}", _bare_predict, methods=["POST"]),
    ]
)
