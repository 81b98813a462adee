"""Online prediction: Phantom against ``mlflow models serve`` and a bare floor.

Two scikit-learn classifiers, trained once on the same synthetic data (20 float
features ``f0``..``f19``, a binary target, fixed seed): ``LogisticRegression``
and a ``RandomForestClassifier`` (100 trees, depth 8). Each server runs alone on
loopback, in one uvicorn worker, one after the other (the machine has 2 cores):

* **phantom**: ``phantom up`` on a fresh home; each model registered as a skops
  file with its signature (a run's artifact, then ``from-artifact``), deployed
  with ``POST /v1/deployments``, called at ``POST /v1/models/{name}/predict``
  with an API key: authentication, validation and prediction logging on;
* **mlflow**: ``mlflow models serve -m PATH --env-manager local`` (its default
  single worker) on the same model, trained and saved with
  ``mlflow.sklearn.save_model`` in MLflow's own virtualenv
  (:mod:`bench.serving_mlflow`), called with ``dataframe_split`` bodies;
* **floor**: FastAPI + ONNX Runtime, no auth, no logging
  (:mod:`bench.serving_floor`), and **floor_starlette**, the same on plain
  Starlette.

Every server's answers on 100 probe rows are checked against the model's before
it is loaded. ``wrk`` (Debian package ``wrk``) then runs each cell: 1-row and
100-row requests at 1, 8 and 32 connections, ``--duration`` seconds each after a
warm-up. A cell with any non-2xx answer or socket error fails loudly (exit 1)
and counts no throughput. Targets (DESIGN §9, issue 6), at 8 connections and 1
row: Phantom ≥ 40x MLflow's requests/s, p99 ≤ 5 ms, ≥ 0.5x the floor's req/s.

Run ``python -m bench.serving [--duration 10] [--quick] [--servers ...]``; JSON
goes to ``bench/results/serving.json`` (``serving.quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import numpy as np
import numpy.typing as npt
import skops.io
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from bench.common import (
    RESULTS_DIR,
    fmt_int,
    fmt_ratio,
    git_revision,
    library_versions,
    load_average,
    machine_info,
    markdown_table,
    utc_now,
    write_json,
)
from bench.serving_floor import sessions
from bench.tracking import (
    MLFLOW_VERSION,
    VENVS,
    WORKDIR,
    _free_port,
    _stop,
    _wait_ready,
    mlflow_python,
    phantom_server,
)

__all__ = ["main"]

ROOT: Final = Path(__file__).resolve().parents[1]
DRIVER: Final = ROOT / "bench" / "serving_mlflow.py"
SEED: Final = 20_261_124
FEATURES: Final = [f"f{i}" for i in range(20)]
SPEC: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "logreg": ("LogisticRegression", {"max_iter": 1000, "random_state": SEED}),
    "forest": (
        "RandomForestClassifier",
        {"n_estimators": 100, "max_depth": 8, "random_state": SEED, "n_jobs": 1},
    ),
}
ESTIMATORS: Final = {
    "LogisticRegression": LogisticRegression,
    "RandomForestClassifier": RandomForestClassifier,
}
ROWS: Final = (1, 100)
CONNECTIONS: Final = (1, 8, 32)
SERVERS: Final = ("phantom", "floor", "floor_starlette", "mlflow")
TARGETS: Final = {"vs_mlflow": 40.0, "p99_ms": 5.0, "vs_floor": 0.5}
_MODEL_LIBRARIES: Final = ["scikit-learn", "skops", "skl2onnx", "onnxruntime", "numpy"]
_WEB_LIBRARIES: Final = ["fastapi", "starlette", "uvicorn", "pydantic", "pydantic-core"]
_UNIT_MS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_WRK_LUA: Final = """wrk.method = "POST"
local f = assert(io.open("{body}", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
{headers}"""

Cell = dict[str, Any]


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- data and models -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Data:
    """The training set, the 100 probe rows requests carry, the fitted models."""

    x_train: npt.NDArray[np.float64]
    y_train: npt.NDArray[np.int64]
    x_probe: npt.NDArray[np.float64]
    models: dict[str, Any]
    labels: dict[str, list[int]]

    @classmethod
    def make(cls) -> Data:
        """Generate the data (fixed seed) and fit both models once."""
        x, y = make_classification(
            n_samples=20_100, n_features=20, n_informative=10, random_state=SEED
        )
        x = np.round(x, 6)  # what a JSON body carries: every server sees these values
        x_train, y_train, probe = x[:-100], y[:-100].astype(np.int64), x[-100:]
        models = {
            name: ESTIMATORS[kind](**params).fit(x_train, y_train)
            for name, (kind, params) in SPEC.items()
        }
        labels = {n: [int(v) for v in m.predict(probe)] for n, m in models.items()}
        return cls(x_train, y_train, probe, models, labels)


def write_onnx(data: Data, folder: Path) -> None:
    """Each model as ``folder/<name>.onnx``: one float32 input, ZipMap off."""
    folder.mkdir()
    for name, model in data.models.items():
        proto = convert_sklearn(
            model,
            initial_types=[("input", FloatTensorType([None, len(FEATURES)]))],
            options={id(model): {"zipmap": False}},
        )
        (folder / f"{name}.onnx").write_bytes(proto.SerializeToString())


def onnx_in_process(folder: Path, probe: npt.NDArray[np.float64]) -> dict[str, float]:
    """Microseconds per ``session.run`` (best of 5 x 2,000): the model's own cost."""
    found: dict[str, float] = {}
    for name, session in sessions(folder).items():
        for rows in ROWS:
            feed = {"input": probe[:rows].astype(np.float32)}
            runs = timeit.repeat(lambda: session.run(None, feed), number=2000, repeat=5)  # noqa: B023
            found[f"{name}/{rows}"] = round(min(runs) / 2000 * 1e6, 2)
    return found


# -- load ------------------------------------------------------------------------------


def wrk(url: str, lua: Path, connections: int, duration: float) -> Cell:
    """One wrk run: the cell's figures, or ``failed`` with the reason."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
    ]
    command += ["--timeout", "30s", "-s", str(lua), url]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=duration + 90
    )
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    latency = {f"p{p}": float(v) * _UNIT_MS[u] for p, v, u in _LATENCY.findall(out)}
    cell: Cell = {
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }
    if done.returncode != 0 or rps is None or "p99" not in latency:
        cell["failed"] = f"wrk exited {done.returncode}: {(out + done.stderr)[-500:]}"
    elif cell["non_2xx"] or cell["socket_errors"]:
        cell["failed"] = f"{cell['non_2xx']} non-2xx, {cell['socket_errors']} errors"
    else:
        cell["requests_per_s"] = float(rps.group(1))
        cell |= {f"{k}_ms": round(latency[k], 3) for k in ("p50", "p99")}
    return cell


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One model behind one server: where to POST, and how to shape the body."""

    url: str
    headers: dict[str, str]
    body: Callable[[list[list[float]]], dict[str, Any]]


def _instances(rows: list[list[float]]) -> dict[str, Any]:
    return {"instances": rows}


def _dataframe_split(rows: list[list[float]]) -> dict[str, Any]:
    return {"dataframe_split": {"columns": FEATURES, "data": rows}}


def check_answers(endpoint: Endpoint, data: Data, model: str) -> None:
    """Raise unless the endpoint predicts the model's labels for the probe rows."""
    body = endpoint.body(data.x_probe.tolist())
    answer = httpx.post(endpoint.url, json=body, headers=endpoint.headers, timeout=60)
    if answer.status_code != 200:
        msg = f"{endpoint.url} answered {answer.status_code}: {answer.text[:500]}"
        raise RuntimeError(msg)
    if [int(v) for v in answer.json()["predictions"]] != data.labels[model]:
        msg = f"{endpoint.url} disagrees with the model {model}'s predictions"
        raise RuntimeError(msg)


def load(
    server: str, model: str, endpoint: Endpoint, data: Data, args: argparse.Namespace
) -> dict[str, Cell]:
    """Every (rows, connections) cell of one model on one server, after a warm-up."""
    check_answers(endpoint, data, model)
    found: dict[str, Cell] = {}
    for rows in ROWS:
        body, lua = args.work / f"body-{rows}.json", args.work / f"post-{rows}.lua"
        body.write_text(json.dumps(endpoint.body(data.x_probe[:rows].tolist())))
        headers = "".join(
            f'wrk.headers["{k}"] = "{v}"\n' for k, v in endpoint.headers.items()
        )
        lua.write_text(_WRK_LUA.format(body=body, headers=headers))
        if "failed" in (warm := wrk(endpoint.url, lua, 8, args.warmup)):
            msg = f"{server} {model}, {rows} rows: the warm-up failed: {warm['failed']}"
            raise RuntimeError(msg)
        for connections in CONNECTIONS:
            key = f"{model}/{rows}/{connections}"
            cell = wrk(endpoint.url, lua, connections, args.duration)
            if "failed" in cell:
                _progress(f"!! {server} {key} FAILED: {cell['failed']}")
            else:
                cell["rows_per_s"] = round(cell["requests_per_s"] * rows, 1)
                _progress(
                    f"{server} {key} (model/rows/connections): "
                    f"{fmt_int(cell['requests_per_s'])} req/s, "
                    f"p50 {cell['p50_ms']:.2f} ms, p99 {cell['p99_ms']:.2f} ms"
                )
            found[key] = {"model": model, "rows": rows, "connections": connections}
            found[key] |= cell
    return found


# -- the servers -----------------------------------------------------------------------


@contextmanager
def _server(
    command: list[str], health: str, log: Path, env: dict[str, str]
) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
        try:
            try:
                _wait_ready(health, process, 180)
            except RuntimeError as exc:
                tail = log.read_text(errors="replace")[-3000:]
                msg = f"{exc}; its log ends:\n{tail}"
                raise RuntimeError(msg) from exc
            yield
        finally:
            _stop(process)


@contextmanager
def floor_server(work: Path, app: str) -> Iterator[tuple[str, list[str]]]:
    """``uvicorn bench.serving_floor:<app>``, one worker, over ``work/onnx``."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", f"bench.serving_floor:{app}"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    env = {**os.environ, "BENCH_SERVING_ONNX_DIR": str(work / "onnx")}
    url = f"http://127.0.0.1:{port}"
    with _server(command, f"{url}/healthz", work / f"{app}.log", env):
        yield url, ["python", *command[1:]]


@contextmanager
def mlflow_server(
    python: Path, path: str, work: Path
) -> Iterator[tuple[str, list[str]]]:
    """``mlflow models serve --env-manager local`` (its defaults) on a saved model."""
    port = _free_port()
    command = [str(python.parent / "mlflow"), "models", "serve", "-m", path]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"  # its uvicorn
    url = f"http://127.0.0.1:{port}"
    with _server(command, f"{url}/ping", work / f"mlflow-{Path(path).name}.log", env):
        yield url, ["mlflow", *command[1:]]


def mlflow_save(python: Path, work: Path, data: Data) -> dict[str, str]:
    """Train and save the models in MLflow's virtualenv; prove they are ours."""
    folder = work / "data"
    folder.mkdir()
    for name in ("x_train", "y_train", "x_probe"):
        np.save(folder / f"{name}.npy", getattr(data, name))
    command = [str(python), str(DRIVER), "save", "--data", str(folder)]
    command += ["--out", str(work / "mlflow"), "--spec", json.dumps({"models": SPEC})]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"the MLflow driver failed:\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for name, model in data.models.items():
        ours = model.predict_proba(data.x_probe)
        same = np.allclose(found[name]["probabilities"], ours, rtol=0, atol=1e-12)
        if not same or found[name]["labels"] != data.labels[name]:
            msg = f"MLflow's {name} is not the same model as Phantom's"
            raise RuntimeError(msg)
    return {name: found[name]["path"] for name in data.models}


def _ok(answer: httpx.Response) -> dict[str, Any]:
    if not answer.is_success:
        where = f"{answer.request.method} {answer.request.url.path}"
        msg = f"{where}: {answer.status_code} {answer.text[:500]}"
        raise RuntimeError(msg)
    found: dict[str, Any] = answer.json()
    return found


def deploy(client: httpx.Client, name: str, data: Data) -> dict[str, Any]:
    """Register model ``name`` (skops, with its signature); deploy it to production.

    The raw upload route takes no signature, so the file goes in as a run's
    artifact and is registered from there (``from-artifact``) with one.
    """
    low, high = data.x_train.min(axis=0).tolist(), data.x_train.max(axis=0).tolist()
    signature = [
        {"name": f, "type": "float", "min": lo, "max": hi}
        for f, lo, hi in zip(FEATURES, low, high, strict=True)
    ]
    run = _ok(client.post("/v1/runs", json={"experiment": "bench-serving"}))["run_id"]
    artifact = _ok(
        client.put(
            f"/v1/runs/{run}/artifacts/{name}.skops",
            content=skops.io.dumps(data.models[name]),
            headers={"Content-Type": "application/octet-stream"},
        )
    )
    body = {"digest": artifact["digest"], "format": "skops", "signature": signature}
    path = f"/v1/models/{name}/versions/from-artifact"
    version = _ok(client.post(path, json=body | {"run_id": run}))["version"]
    how = "POST /v1/deployments"
    answer = client.post("/v1/deployments", json={"model": name, "version": version})
    if answer.status_code in {404, 405}:  # the deployments route is not there yet
        how = "PUT /v1/models/{name}/aliases/production"
        path = f"/v1/models/{name}/aliases/production"
        answer = client.put(path, json={"version": version})
    info = _ok(answer)
    if info.get("state", "succeeded") != "succeeded":
        msg = f"the deployment of {name} ended {info.get('state')}: {info}"
        raise RuntimeError(msg)
    return {"version": version, "deployed_with": how, "answer": info}


# -- the run ---------------------------------------------------------------------------


def measure(args: argparse.Namespace, data: Data) -> dict[str, Any]:
    """Start every server in turn and load it; every cell, and how each ran."""
    work: Path = args.work
    cells: dict[str, dict[str, Cell]] = {server: {} for server in args.servers}
    facts: dict[str, Any] = {}
    if "phantom" in args.servers:
        with phantom_server(work / "phantom") as (served, key):
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=served.url, headers=headers, timeout=120) as c:
                deployed = {name: deploy(c, name, data) for name in data.models}
            facts["phantom"] = {"command": served.command, "deployed": deployed}
            for model in data.models:
                url = f"{served.url}/v1/models/{model}/predict"
                endpoint = Endpoint(url, headers, _instances)
                cells["phantom"] |= load("phantom", model, endpoint, data, args)
    for server, app in (("floor", "app"), ("floor_starlette", "bare")):
        if server in args.servers:
            with floor_server(work, app) as (base, command):
                facts[server] = {"command": command}
                for model in data.models:
                    endpoint = Endpoint(f"{base}/predict/{model}", {}, _instances)
                    cells[server] |= load(server, model, endpoint, data, args)
    if "mlflow" in args.servers:
        saved = mlflow_save(args.python, work, data)
        facts["mlflow"] = {"body": "dataframe_split", "commands": {}}
        for model, path in saved.items():
            with mlflow_server(args.python, path, work) as (base, command):
                facts["mlflow"]["commands"][model] = command
                endpoint = Endpoint(f"{base}/invocations", {}, _dataframe_split)
                cells["mlflow"] |= load("mlflow", model, endpoint, data, args)
    return {"cells": cells, "servers": facts}


def _verdict(value: float | None, ok: Callable[[float], bool]) -> bool | None:
    return None if value is None else ok(value)


def summarise(cells: dict[str, dict[str, Cell]]) -> dict[str, Any]:
    """Phantom's ratios per cell, the targets' verdicts (8 connections), failures.

    Every server gets the same rows per request in a cell, so the ratio of
    requests/s is also the ratio of rows/s.
    """

    def ratio(key: str, peer: str) -> float | None:
        ours = cells.get("phantom", {}).get(key, {}).get("requests_per_s")
        theirs = cells.get(peer, {}).get(key, {}).get("requests_per_s")
        return None if ours is None or not theirs else round(ours / theirs, 2)

    keys = [f"{m}/{r}/{c}" for m in SPEC for r in ROWS for c in CONNECTIONS]
    peers = ("mlflow", "floor", "floor_starlette")
    ratios = {k: {f"phantom_over_{p}": ratio(k, p) for p in peers} for k in keys}
    targets = {
        model: {
            "1 row: >= 40x mlflow req/s": _verdict(
                ratio(f"{model}/1/8", "mlflow"), lambda r: r >= TARGETS["vs_mlflow"]
            ),
            "1 row: p99 <= 5 ms": _verdict(
                cells.get("phantom", {}).get(f"{model}/1/8", {}).get("p99_ms"),
                lambda ms: ms <= TARGETS["p99_ms"],
            ),
            "1 row: >= 0.5x floor req/s": _verdict(
                ratio(f"{model}/1/8", "floor"), lambda r: r >= TARGETS["vs_floor"]
            ),
            "100 rows: >= 40x mlflow rows/s": _verdict(
                ratio(f"{model}/100/8", "mlflow"), lambda r: r >= TARGETS["vs_mlflow"]
            ),
        }
        for model in SPEC
    }
    failed = [
        f"{server} {key}: {cell['failed']}"
        for server, by_key in cells.items()
        for key, cell in by_key.items()
        if "failed" in cell
    ]
    return {"ratios": ratios, "targets_at_8_connections": targets, "failed": failed}


COLUMNS: Final = {
    "phantom": ("requests_per_s", "rows_per_s", "p50_ms", "p99_ms"),
    "floor": ("requests_per_s", "p99_ms"),
    "floor_starlette": ("requests_per_s",),
    "mlflow": ("requests_per_s", "p50_ms", "p99_ms"),
}


TITLES: Final = {
    "requests_per_s": "req/s",
    "rows_per_s": "rows/s",
    "p50_ms": "p50 ms",
    "p99_ms": "p99 ms",
}


def _figure(cell: Cell | None, field: str) -> str:
    if cell is None:
        return "-"
    if "failed" in cell:
        return "FAILED"
    return f"{cell[field]:,.{2 if field.endswith('_ms') and cell[field] < 100 else 0}f}"


def print_table(cells: dict[str, dict[str, Cell]], summary: dict[str, Any]) -> None:
    """The Markdown results table on stdout, and the targets' verdicts."""
    headers = ["model", "request"]
    headers += [f"{s} {TITLES[f]}" for s, fs in COLUMNS.items() for f in fs]
    rows: list[list[str]] = []
    for key, ratio in summary["ratios"].items():
        model, n, c = key.split("/")
        row = [model, f"{n} row{'s' * (n != '1')}, c={c}"]
        row += [
            _figure(cells.get(s, {}).get(key), f)
            for s, fs in COLUMNS.items()
            for f in fs
        ]
        rows.append(
            [
                *row,
                *(fmt_ratio(ratio[f"phantom_over_{p}"]) for p in ("mlflow", "floor")),
            ]
        )
    print(markdown_table([*headers, "phantom/mlflow", "phantom/floor"], rows))
    for model, verdicts in summary["targets_at_8_connections"].items():
        said = "; ".join(
            f"{what}: {'n/a' if met is None else 'met' if met else 'NOT met'}"
            for what, met in verdicts.items()
        )
        print(f"\n{model}, 8 connections: {said}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; 1 if a cell failed."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.serving", description=__doc__
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per cell")
    parser.add_argument("--warmup", type=float, default=3, help="seconds per body")
    parser.add_argument("--quick", action="store_true", help="2 s cells, 1 s warm-up")
    parser.add_argument("--servers", default=",".join(SERVERS), help="which to run")
    parser.add_argument("--mlflow-version", default=MLFLOW_VERSION)
    parser.add_argument("--venvs", type=Path, default=VENVS)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 2, 1
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if unknown := set(args.servers) - set(SERVERS):
        parser.error(f"unknown servers {sorted(unknown)}; pick from {SERVERS}")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    args.output = args.output or RESULTS_DIR / f"serving{'.quick' * args.quick}.json"
    started, load_start = utc_now(), load_average()
    args.python = None
    if "mlflow" in args.servers:
        args.python = mlflow_python(args.mlflow_version, args.venvs)
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.work = Path(tempfile.mkdtemp(prefix="serving-", dir=args.workdir))
    data = Data.make()
    try:
        write_onnx(data, args.work / "onnx")
        measured = measure(args, data)
        in_process = onnx_in_process(args.work / "onnx", data.x_probe)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    summary = summarise(measured["cells"])
    print_table(measured["cells"], summary)
    for failure in summary["failed"]:
        _progress(f"FAILED: {failure}")
    libraries: dict[str, Any] = {
        "phantom_venv": library_versions(_MODEL_LIBRARIES + _WEB_LIBRARIES)
    }
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    libraries["wrk"] = wrk_v.stdout.partition("\n")[0]
    if args.python is not None:
        driver = [str(args.python), str(DRIVER), "version"]
        done = subprocess.run(driver, capture_output=True, text=True, check=True)
        libraries["mlflow_venv"] = json.loads(done.stdout)
    shown = {k: str(getattr(args, k)) for k in ("output", "venvs", "workdir", "python")}
    del args.work
    fixed = {"rows": ROWS, "connections": CONNECTIONS, "models": SPEC, "seed": SEED}
    machine = {
        "load_average_at_start": load_start,
        "load_average_at_end": load_average(),
    }
    payload = {
        "benchmark": "serving",
        "started": started,
        "finished": utc_now(),
        "parameters": vars(args) | shown | fixed,
        "summary": summary,
        "cells": measured["cells"],
        "servers": measured["servers"],
        "onnxruntime_in_process_us_per_call": in_process,
        "machine": machine_info(machine),
        "libraries": libraries,
        "revision": git_revision(ROOT),
    }
    write_json(args.output, payload)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
