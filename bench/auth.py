"""What authentication costs a request, end to end and in isolation.

Two measurements in one run, on one fresh ``PHANTOM_HOME`` (embedded defaults, a
tenant made by ``phantom admin init``):

1. **End to end** (needs ``wrk``, Debian package ``wrk``): ``phantom up`` with one
   uvicorn worker on loopback, loaded one route at a time:

   * ``GET /healthz`` — public: no credential, no policy decision, no database;
   * ``GET /v1/me`` — authenticated: key parsing, the verified-key cache, the
     policy table, the tenant's rate-limit bucket and the principal;
   * ``GET /v1/tenant`` — the issue's route: the same plus one tenancy read.

   ``t(/v1/me) - t(/healthz)`` (``t = 1 / requests/s``) bounds authentication from
   above: it also holds FastAPI's dependency solving and the response model.

2. **In isolation** (:mod:`bench.auth_split`): the same request through the
   product's stack and through the same stack with the access layer swapped for a
   shim that trusts a ready principal. The difference is what authentication,
   access control and counting the allowed call for the audit trail add.

DESIGN's target: authentication under 10% of an authenticated ``GET /v1/tenant``.
Logging is at warnings for every route alike; the rate limit is on, with a bucket
large enough never to refuse.

Run ``python -m bench.auth [--duration 10] [--connections 8] [--rounds 6]``; JSON
goes to ``bench/results/auth.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import httpx

from bench.auth_split import Split, measure_split
from bench.common import (
    RESULTS_DIR,
    fmt_int,
    git_revision,
    machine_info,
    markdown_table,
    median,
    utc_now,
    write_json,
)

__all__ = ["main"]

ROOT: Final = Path(__file__).resolve().parents[1]
ROUTES: Final = ("/healthz", "/v1/me", "/v1/tenant")
SPLIT_ROUTES: Final = ("/v1/me", "/v1/tenant")
YARDSTICK: Final = "/v1/me"
TARGET_SHARE: Final = 0.10
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_LATENCY = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_UNIT_MS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANTOM_")}
    env.update(
        PHANTOM_HOME=str(home),
        PHANTOM_LOG_LEVEL="WARNING",
        PHANTOM_RATE_LIMIT_PER_SECOND="1000000",
        PHANTOM_RATE_LIMIT_BURST="1000000",
    )
    return env


def _phantom(*args: str) -> list[str]:
    return [sys.executable, "-m", "phantom", *args]


def _owner_key(home: Path) -> str:
    out = subprocess.run(
        _phantom("admin", "init", "--json"),
        env=_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    key: str = json.loads(out.stdout)["api_key"]
    return key


def _wait_ready(base: str, deadline_s: float = 60.0) -> None:
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    msg = f"phantom did not become ready at {base}"
    raise RuntimeError(msg)


def _wrk(url: str, key: str | None, duration: int, connections: int) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if key is not None:
        command += ["-H", f"Authorization: Bearer {key}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    rps = _RPS.search(out)
    if rps is None:
        msg = f"could not read wrk's output:\n{out}"
        raise RuntimeError(msg)
    errors = _ERRORS.search(out)
    return {
        "requests_per_s": float(rps.group(1)),
        "latency_ms": {
            f"p{p}": round(float(v) * _UNIT_MS[u], 3)
            for p, v, u in _LATENCY.findall(out)
        },
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def measure(
    home: Path, key: str, duration: int, connections: int, repeat: int
) -> dict[str, list[dict[str, Any]]]:
    """Run the server on ``home`` and wrk; return every sample by route."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        _phantom("up", "--port", str(port)),
        env=_env(home),
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    samples: dict[str, list[dict[str, Any]]] = {route: [] for route in ROUTES}
    try:
        _wait_ready(base)
        for route in ROUTES:  # warm every path once
            _wrk(base + route, None if route == "/healthz" else key, 2, connections)
        for round_ in range(repeat):
            order = ROUTES[round_ % 3 :] + ROUTES[: round_ % 3]
            for route in order:
                credential = None if route == "/healthz" else key
                sample = _wrk(base + route, credential, duration, connections)
                _progress(
                    f"[{round_ + 1}/{repeat}] {route}: "
                    f"{fmt_int(sample['requests_per_s'])} req/s"
                )
                samples[route].append(sample)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return samples


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def summarise_wrk(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per route, and the end-to-end view of the auth cost.

    ``t(/v1/me) - t(/healthz)`` bounds authentication from above: it also holds
    the dependency solving and response model that ``/healthz`` lacks.
    """
    rps = {
        route: median([s["requests_per_s"] for s in samples[route]]) for route in ROUTES
    }
    p99 = {
        route: median([s["latency_ms"].get("p99", 0.0) for s in samples[route]])
        for route in ROUTES
    }
    t = {route: 1e6 / value for route, value in rps.items()}
    bound = max(t["/v1/me"] - t["/healthz"], 0.0)
    return {
        "median_requests_per_s": {k: round(v, 1) for k, v in rps.items()},
        "median_p99_ms": p99,
        "us_per_request": {k: round(v, 1) for k, v in t.items()},
        "auth_upper_bound_us": round(bound, 1),
        "auth_upper_bound_share_of_get_tenant": round(bound / t["/v1/tenant"], 4),
        "non_2xx": {r: sum(s["non_2xx"] for s in samples[r]) for r in ROUTES},
    }


def summarise_split(splits: list[Split]) -> dict[str, Any]:
    """Per route: guarded, trusted, their difference; the auth cost; the target.

    The access layer does the same work whatever the route (same credential,
    bucket, policy lookup and count), so its cost is taken where it is measured
    most precisely: on ``/v1/me``, whose handler does almost nothing and whose
    rounds vary least. Each route's share is that cost over the route's guarded
    time; each route's own paired difference is kept beside it as a check.
    """
    by_route = {split.route: split.summary() for split in splits}
    auth_us = max(by_route[YARDSTICK]["difference_us"], 0.0)
    for figures in by_route.values():
        figures["auth_share"] = round(auth_us / figures["guarded_us"], 4)
    share = by_route["/v1/tenant"]["auth_share"]
    return {
        "auth_us": auth_us,
        "routes": by_route,
        "raw": {
            split.route: {
                "guarded_us": split.guarded_us,
                "trusted_us": split.trusted_us,
            }
            for split in splits
        },
        "target": "authentication < 10% of an authenticated GET /v1/tenant",
        "target_met": share < TARGET_SHARE,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print tables, write JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.auth", description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per sample")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--requests", type=int, default=3000, help="in-process requests per round"
    )
    parser.add_argument("--rounds", type=int, default=6, help="in-process rounds")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "auth.json")
    args = parser.parse_args(argv)
    started = utc_now()
    home = Path(tempfile.mkdtemp(prefix="phantom-bench-auth-"))
    payload: dict[str, Any] = {"benchmark": "auth", "started": started}
    try:
        key = _owner_key(home)
        if shutil.which("wrk") is None:
            _progress("wrk is not installed (apt-get install wrk): end-to-end skipped")
            payload["skipped"] = {"wrk": "wrk is not installed"}
        else:
            samples = measure(home, key, args.duration, args.connections, args.repeat)
            payload["wrk"] = {"samples": samples, "summary": summarise_wrk(samples)}
            _print_wrk(payload["wrk"]["summary"])
        os.environ.update(_env(home))
        splits = measure_split(
            key,
            SPLIT_ROUTES,
            requests=args.requests,
            rounds=args.rounds,
            progress=_progress,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    payload["split"] = summarise_split(splits)
    _print_split(payload["split"])
    payload |= {
        "finished": utc_now(),
        "parameters": vars(args) | {"output": str(args.output)},
        "machine": machine_info(),
        "revision": git_revision(ROOT),
    }
    write_json(args.output, payload)
    return 0


def _print_wrk(summary: dict[str, Any]) -> None:
    rows = [
        [
            route,
            fmt_int(summary["median_requests_per_s"][route]),
            f"{summary['us_per_request'][route]:.0f}",
            f"{summary['median_p99_ms'][route]:.2f}",
        ]
        for route in ROUTES
    ]
    print("End to end (phantom up under wrk):\n")
    print(markdown_table(["route", "req/s (median)", "us/request", "p99 ms"], rows))
    print(
        f"\nt(/v1/me) - t(/healthz) = {summary['auth_upper_bound_us']:.0f} us, "
        f"{summary['auth_upper_bound_share_of_get_tenant']:.1%} of GET /v1/tenant "
        "(an upper bound on authentication)\n"
    )


def _print_split(split: dict[str, Any]) -> None:
    rows = [
        [
            route,
            f"{figures['guarded_us']:.1f}",
            f"{figures['trusted_us']:.1f}",
            f"{figures['difference_us']:.1f}",
            f"{figures['auth_share']:.1%}",
        ]
        for route, figures in split["routes"].items()
    ]
    print("Same request with and without the access layer (in process):\n")
    headers = ["route", "guarded us", "trusted us", "difference us", "auth share"]
    print(markdown_table(headers, rows))
    verdict = "met" if split["target_met"] else "NOT met"
    print(f"\nthe access layer costs {split['auth_us']:.1f} us a request (on /v1/me)")
    print(f"target (auth < 10% of GET /v1/tenant): {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
