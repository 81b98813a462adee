"""Metric ingest and history reads: Phantom's SDK against the MLflow tracking server.

Both servers run on loopback in the same run, each as light as it goes:

* ``phantom up`` (one uvicorn process; embedded defaults: metric points in
  DuckDB) on a fresh ``PHANTOM_HOME`` under ``bench/.work/``;
* ``mlflow server --backend-store-uri sqlite:///... --workers 1`` with its job
  runner off (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``), from its own
  virtualenv under ``bench/.venvs/`` (made on the first run: MLflow pins
  packages below ours, so it cannot share ``.venv``).

Measured, N points (default 100,000) of one metric:

1. Phantom: ``with phantom.start_run(...) as run: run.log_metric(...)`` in a
   tight loop, timed from the first call until the block's exit has flushed
   everything and ended the run; the count is then checked on the server;
2. MLflow ``MlflowClient.log_batch``, 1,000 metrics per call (its maximum);
3. MLflow ``log_metric`` one call per point, on a smaller N (reference);
4. reading the N-point history back: ``client.runs.metric_history`` against
   ``get_metric_history``, ``--reads`` samples each (median).

Samples alternate between the two; medians are reported. Targets (DESIGN §9):
ingest ≥ 10x MLflow's ``log_batch`` rate, a 100k-point history read ≤ 100 ms.
``--profile`` also samples Phantom's server with py-spy during one more ingest
and a few reads, and stores the functions with the most samples.

Run ``python -m bench.tracking [--points 100000] [--repeat 3] [--quick]``;
JSON goes to ``bench/results/tracking.json`` (``tracking.quick.json`` with
``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

import phantom
from bench.common import (
    RESULTS_DIR,
    fmt_int,
    fmt_ratio,
    git_revision,
    library_versions,
    load_average,
    machine_info,
    markdown_table,
    median,
    utc_now,
    write_json,
)
from phantom.sdk import Client

__all__ = ["main"]

ROOT: Final = Path(__file__).resolve().parents[1]
WORKDIR: Final = ROOT / "bench" / ".work"
VENVS: Final = ROOT / "bench" / ".venvs"
DRIVER: Final = ROOT / "bench" / "tracking_mlflow.py"
MLFLOW_VERSION: Final = "3.17.2"
KEY: Final = "loss"
TARGET_INGEST_RATIO: Final = 10.0
TARGET_READ_S: Final = 0.100
QUICK_POINTS: Final = 10_000


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], deadline_s: float) -> None:
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        if process.poll() is not None:
            msg = f"the server for {url} exited with {process.returncode}"
            raise RuntimeError(msg)
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    msg = f"{url} did not answer within {deadline_s:.0f} s"
    raise RuntimeError(msg)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server and its children (it leads its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# -- the servers ---------------------------------------------------------------------


def mlflow_python(version: str, venvs: Path) -> Path:
    """MLflow's virtualenv interpreter, made (``pip install mlflow==version``) once."""
    venv = venvs / f"mlflow-{version}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.is_file() and python.is_file():
        return python
    _progress(f"creating {venv} with mlflow=={version} (once; about a minute)")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, f"mlflow=={version}"], check=True, timeout=1800)
    marker.write_text(version + "\n", encoding="utf-8")
    return python


def _phantom_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANTOM_")}
    env.update(
        PHANTOM_HOME=str(home),
        PHANTOM_CONFIG=str(home / "no-such-phantom.toml"),
        PHANTOM_LOG_LEVEL="WARNING",
        PHANTOM_DEMO="0",
        PHANTOM_RATE_LIMIT_PER_SECOND="1000000",
        PHANTOM_RATE_LIMIT_BURST="1000000",
    )
    return env


@dataclass(frozen=True, slots=True)
class Served:
    """A running server: where, how it was started, its process id."""

    url: str
    command: list[str]
    pid: int


GC_FREEZE_WRAPPER: Final = """
import gc, sys, uvicorn
from phantom.cli.main import main
started = uvicorn.Server.startup
async def startup(self, sockets=None):
    await started(self, sockets=sockets)
    gc.collect()
    gc.freeze()
uvicorn.Server.startup = startup
sys.argv = ["phantom", *sys.argv[1:]]
main()
"""
"""``phantom up`` with ``gc.freeze()`` once the server has started: a prototype
of a server change (the long-lived heap leaves the cyclic GC's view), measured
beside the product as it is; the product's code is not touched."""


@contextmanager
def phantom_server(
    work: Path, *, gc_freeze: bool = False
) -> Iterator[tuple[Served, str]]:
    """``phantom up`` on a fresh home, and the first owner's API key."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "phantom-home"
    env = _phantom_env(home)
    init = [sys.executable, "-m", "phantom", "admin", "init", "--json"]
    out = subprocess.run(
        init, env=env, cwd=work, capture_output=True, text=True, check=True, timeout=120
    )
    key = str(json.loads(out.stdout)["api_key"])
    port = _free_port()
    launcher = ["-c", GC_FREEZE_WRAPPER] if gc_freeze else ["-m", "phantom"]
    command = [sys.executable, *launcher, "up", "--port", str(port)]
    log = (work / "phantom.log").open("wb")
    process = subprocess.Popen(
        command, env=env, cwd=work, stdout=log, stderr=log, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/readyz", process, 90)
        shown = ["python", "-c", "<GC_FREEZE_WRAPPER>"] if gc_freeze else ["phantom"]
        yield Served(url, [*shown, *command[-3:]], process.pid), key
    finally:
        _stop(process)
        log.close()


@contextmanager
def mlflow_server(python: Path, work: Path) -> Iterator[Served]:
    """``mlflow server`` on a fresh SQLite file, one worker, no job runner."""
    port = _free_port()
    mlflow = python.parent / "mlflow"
    command = [
        str(mlflow),
        "server",
        "--backend-store-uri",
        f"sqlite:///{work / 'mlflow.db'}",
        "--default-artifact-root",
        str(work / "mlflow-artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    log = (work / "mlflow.log").open("wb")
    process = subprocess.Popen(
        command, env=env, cwd=work, stdout=log, stderr=log, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/health", process, 180)
        yield Served(url, ["mlflow", *command[1:]], process.pid)
    finally:
        _stop(process)
        log.close()


# -- the measurements ----------------------------------------------------------------


def phantom_ingest(client: Client, points: int) -> dict[str, Any]:
    """Log ``points`` points through ``start_run``; time until the exit flushed."""
    run = phantom.start_run("bench-ingest", client=client)
    started = time.perf_counter()
    with run:
        log_metric = run.log_metric
        for step in range(points):
            log_metric(KEY, step * 0.001)
        looped = time.perf_counter()
    seconds = time.perf_counter() - started
    counts = {m.key: m.count for m in client.runs.metrics(run.id)}
    if counts.get(KEY) != points or run.info.status != "finished":
        msg = f"phantom stored {counts} in a {run.info.status} run, not {points}"
        raise RuntimeError(msg)
    return {
        "run_id": run.id,
        "points": points,
        "seconds": seconds,
        "loop_seconds": looped - started,
        "points_per_s": points / seconds,
    }


def phantom_reads(client: Client, run_id: str, repeat: int) -> dict[str, Any]:
    """``metric_history`` ``repeat`` times, through the SDK."""
    samples: list[float] = []
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        history = client.runs.metric_history(run_id, KEY)
        samples.append(time.perf_counter() - started)
        count = len(history)
    return {"run_id": run_id, "points": count, "seconds": samples}


def mlflow_call(python: Path, url: str, *args: str) -> dict[str, Any]:
    """One measurement by the MLflow driver, in MLflow's virtualenv."""
    done = subprocess.run(
        [str(python), str(DRIVER), url, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        msg = f"the MLflow driver failed ({' '.join(args)}):\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[None]:
    """Sample ``pid`` with py-spy while the block runs (raw folded stacks)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "-p", str(pid), "-f", "raw", "-r", "250", "--gil"]
    command += ["-o", str(out)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)  # attached
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def hot_functions(folded: Path, top: int = 15) -> list[dict[str, Any]]:
    """The functions with the most self samples, idle waits left out."""
    idle = ("wait (threading.py", "_worker (concurrent", "select (selectors.py")
    counts: Counter[str] = Counter()
    total = 0
    for line in folded.read_text(encoding="utf-8").splitlines():
        stack, _, number = line.rpartition(" ")
        frame = stack.rsplit(";", 1)[-1]
        if any(marker in frame for marker in idle):
            continue
        counts[frame] += int(number)
        total += int(number)
    return [
        {"function": frame, "share": round(n / total, 3)}
        for frame, n in counts.most_common(top)
    ]


# -- the run ---------------------------------------------------------------------------


def _ingest_sample(
    who: str, args: argparse.Namespace, clients: dict[str, Client], mlflow: Served
) -> dict[str, Any]:
    if who in clients:
        return phantom_ingest(clients[who], args.points)
    sample = mlflow_call(
        args.python, mlflow.url, "log-batch", "--points", str(args.points)
    )
    sample["points_per_s"] = sample["points"] / sample["seconds"]
    return sample


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every server up; every sample, in rotating order; the profile if asked."""
    python: Path = args.python
    with ExitStack() as stack:
        ph, key = stack.enter_context(phantom_server(work / "phantom"))
        clients = {"phantom": stack.enter_context(Client(ph.url, key))}
        servers: dict[str, Any] = {"phantom": {"command": ph.command, "workers": 1}}
        if args.gc_freeze_prototype:
            frozen, frozen_key = stack.enter_context(
                phantom_server(work / "frozen", gc_freeze=True)
            )
            clients["phantom_gc_freeze"] = stack.enter_context(
                Client(frozen.url, frozen_key)
            )
            servers["phantom_gc_freeze"] = {"command": frozen.command, "workers": 1}
        ml = stack.enter_context(mlflow_server(python, work))
        servers["mlflow"] = {
            "command": ml.command,
            "workers": 1,
            "env": {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        }
        names = [*clients, "mlflow_log_batch"]
        ingest: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for index in range(args.repeat):
            turn = index % len(names)
            for who in names[turn:] + names[:turn]:
                sample = _ingest_sample(who, args, clients, ml)
                ingest[who].append(sample)
                _progress(
                    f"[{index + 1}/{args.repeat}] {who} ingest: "
                    f"{fmt_int(sample['points_per_s'])} points/s"
                )
        one = mlflow_call(
            python, ml.url, "log-metric", "--points", str(args.one_by_one)
        )
        one["points_per_s"] = one["points"] / one["seconds"]
        _progress(f"mlflow log_metric one by one: {fmt_int(one['points_per_s'])}/s")
        reads = {
            who: phantom_reads(client, ingest[who][0]["run_id"], args.reads)
            for who, client in clients.items()
        }
        reads["mlflow"] = mlflow_call(
            python,
            ml.url,
            "read",
            "--run-id",
            ingest["mlflow_log_batch"][0]["run_id"],
            "--repeat",
            str(args.reads),
        )
        _progress("reads done")
        if any(r["points"] != args.points for r in reads.values()):
            msg = f"a history read came back short: {reads}"
            raise RuntimeError(msg)
        samples: dict[str, Any] = {
            "ingest": ingest,
            "mlflow_log_metric": one,
            "read": reads,
            "servers": servers,
        }
        if args.profile:
            run_id = ingest["phantom"][0]["run_id"]
            samples["profile"] = profile(
                clients["phantom"], ph, work, args.points, run_id
            )
    return samples


def profile(
    client: Client, server: Served, work: Path, points: int, run_id: str
) -> dict[str, Any]:
    """Where Phantom's server spends an ingest and 20 reads (py-spy samples)."""
    found: dict[str, Any] = {}
    with py_spy(server.pid, work / "ingest.folded"):
        phantom_ingest(client, points)
    found["ingest"] = hot_functions(work / "ingest.folded")
    with py_spy(server.pid, work / "read.folded"):
        phantom_reads(client, run_id, 20)
    found["read"] = hot_functions(work / "read.folded")
    return found


def summarise(samples: dict[str, Any], points: int) -> dict[str, Any]:
    """Medians, ratios and the targets' verdicts."""
    rate = {
        who: median([s["points_per_s"] for s in runs])
        for who, runs in samples["ingest"].items()
    }
    read = {who: median(r["seconds"]) for who, r in samples["read"].items()}
    batch = rate.pop("mlflow_log_batch")
    one = float(samples["mlflow_log_metric"]["points_per_s"])
    loop = median([s["loop_seconds"] for s in samples["ingest"]["phantom"]])
    ml_read = read.pop("mlflow")
    phantoms = {
        who: {
            "points_per_s": round(rate[who], 1),
            "ingest_ratio_vs_log_batch": round(rate[who] / batch, 2),
            "ingest_ratio_vs_log_metric": round(rate[who] / one, 2),
            "read_s": round(read[who], 4),
            "read_ratio_mlflow_over_phantom": round(ml_read / read[who], 1),
        }
        for who in rate
    }
    product = phantoms["phantom"]
    return {
        "points": points,
        "phantom": phantoms["phantom"],
        "phantom_gc_freeze_prototype": phantoms.get("phantom_gc_freeze"),
        "phantom_caller_us_per_point": round(loop / points * 1e6, 2),
        "mlflow_log_batch_points_per_s": round(batch, 1),
        "mlflow_log_metric_points_per_s": round(one, 1),
        "mlflow_read_s": round(ml_read, 4),
        "targets": {
            "ingest >= 10x mlflow log_batch": product["ingest_ratio_vs_log_batch"]
            >= TARGET_INGEST_RATIO,
            "100k-point history read <= 100 ms": (
                product["read_s"] <= TARGET_READ_S if points >= 100_000 else None
            ),
        },
    }


def _verdict(met: bool | None, what: str) -> str:
    if met is None:
        return f"{what}: n/a (N < 100k)"
    return f"{what}: {'met' if met else 'NOT met'}"


def print_table(summary: dict[str, Any], one_by_one: int) -> None:
    """The Markdown results table on stdout."""
    n = fmt_int(summary["points"])
    targets = summary["targets"]
    batch = summary["mlflow_log_batch_points_per_s"]
    variants = [("phantom", "")]
    if summary["phantom_gc_freeze_prototype"] is not None:
        variants.append(("phantom_gc_freeze_prototype", " (server with gc.freeze())"))
    rows: list[list[str]] = []
    for who, label in variants:
        figures = summary[who]
        product = who == "phantom"
        rows.append(
            [
                f"ingest {n} points, points/s{label}",
                "SDK `start_run` + `log_metric`, until flushed",
                fmt_int(figures["points_per_s"]),
                f"`log_batch` x1,000: {fmt_int(batch)}",
                fmt_ratio(figures["ingest_ratio_vs_log_batch"]),
                _verdict(targets["ingest >= 10x mlflow log_batch"], ">= 10x")
                if product
                else "prototype",
            ]
        )
        rows.append(
            [
                f"read a {n}-point history, ms (median){label}",
                "SDK `runs.metric_history`",
                f"{figures['read_s'] * 1000:.1f}",
                f"`get_metric_history`: {summary['mlflow_read_s'] * 1000:,.1f}",
                f"{figures['read_ratio_mlflow_over_phantom']:,.1f}x faster",
                _verdict(targets["100k-point history read <= 100 ms"], "<= 100 ms")
                if product
                else "prototype",
            ]
        )
    one = summary["mlflow_log_metric_points_per_s"]
    rows.append(
        [
            f"reference: MLflow one `log_metric` call per point ({one_by_one:,})",
            "-",
            "-",
            fmt_int(one),
            fmt_ratio(summary["phantom"]["ingest_ratio_vs_log_metric"]),
            "-",
        ]
    )
    headers = [
        "workload",
        "phantom path",
        "phantom",
        "mlflow",
        "phantom vs mlflow",
        "target",
    ]
    print(markdown_table(headers, rows))
    caller = summary["phantom_caller_us_per_point"]
    print(
        f"\nthe caller spends {caller:.2f} us per log_metric (appending to the buffer)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.tracking", description=__doc__
    )
    parser.add_argument("--points", type=int, default=100_000, help="points per sample")
    parser.add_argument("--repeat", type=int, default=3, help="ingest samples each")
    parser.add_argument(
        "--one-by-one", type=int, default=2_000, help="MLflow log_metric"
    )
    parser.add_argument("--reads", type=int, default=5, help="history reads each")
    parser.add_argument("--quick", action="store_true", help="10,000 points, 1 sample")
    parser.add_argument("--profile", action="store_true", help="py-spy the server")
    parser.add_argument(
        "--gc-freeze-prototype",
        action="store_true",
        help="also measure a server that calls gc.freeze() after starting",
    )
    parser.add_argument("--mlflow-version", default=MLFLOW_VERSION)
    parser.add_argument("--venvs", type=Path, default=VENVS)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.points, args.repeat, args.one_by_one, args.reads = QUICK_POINTS, 1, 500, 3
    if args.points < 1 or args.repeat < 1 or args.reads < 1:
        parser.error("--points, --repeat and --reads must be positive")
    stem = "tracking.quick" if args.quick else "tracking"
    args.output = args.output or RESULTS_DIR / f"{stem}.json"
    started, load_start = utc_now(), load_average()
    args.python = mlflow_python(args.mlflow_version, args.venvs)
    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tracking-", dir=args.workdir))
    try:
        samples = measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = summarise(samples, args.points)
    print_table(summary, args.one_by_one)
    payload = {
        "benchmark": "tracking",
        "started": started,
        "finished": utc_now(),
        "parameters": vars(args)
        | {k: str(getattr(args, k)) for k in ("output", "venvs", "workdir", "python")},
        "summary": summary,
        "samples": samples,
        "machine": machine_info(
            {"load_average_at_start": load_start, "load_average_at_end": load_average()}
        ),
        "libraries": {
            "phantom": library_versions(
                ["httpx", "pydantic-core", "fastapi", "uvicorn", "duckdb"]
            ),
            "mlflow_venv": mlflow_call(args.python, "http://unused", "version"),
        },
        "revision": git_revision(ROOT),
    }
    write_json(args.output, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
