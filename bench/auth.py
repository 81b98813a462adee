"""What authentication costs a request: authenticated routes vs ``/healthz``.

Starts ``phantom up`` (one uvicorn worker, embedded defaults, a fresh
``PHANTOM_HOME`` with a tenant made by ``phantom admin init``) on loopback and loads
it with ``wrk`` (Debian package ``wrk``), one route at a time, in the same run:

* ``GET /healthz`` — public: no credential, no policy decision, no database;
* ``GET /v1/me`` — authenticated: key parsing, the verified-key cache, the policy
  table, the tenant's rate-limit bucket and the principal; no other work;
* ``GET /v1/tenant`` — the issue's route: the same plus one tenancy read.

The auth share is ``1 - t(healthz) / t(me)`` with ``t = 1 / (requests/s)``: the part
of an authenticated request's time that authentication and access control add.
DESIGN's target: under 10%. Logging is set to warnings for every route alike, so
the access log does not count as authentication. The rate limit is on, with a
bucket large enough never to refuse.

Run ``python -m bench.auth [--duration 10] [--connections 8]``; JSON goes to
``bench/results/auth.json``.
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


def measure(duration: int, connections: int, repeat: int) -> dict[str, Any]:
    """Run the server and wrk; return every sample by route."""
    home = Path(tempfile.mkdtemp(prefix="phantom-bench-auth-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    key = _owner_key(home)
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
                print(
                    f"[{round_ + 1}/{repeat}] {route}: "
                    f"{fmt_int(sample['requests_per_s'])} req/s",
                    file=sys.stderr,
                )
                samples[route].append(sample)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    return samples


def summarise(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per route and the share of an authenticated request's time."""
    rps = {
        route: median([s["requests_per_s"] for s in samples[route]]) for route in ROUTES
    }
    p99 = {
        route: median([s["latency_ms"].get("p99", 0.0) for s in samples[route]])
        for route in ROUTES
    }
    share_me = 1 - rps["/v1/me"] / rps["/healthz"]
    share_tenant = 1 - rps["/v1/tenant"] / rps["/healthz"]
    return {
        "median_requests_per_s": {k: round(v, 1) for k, v in rps.items()},
        "median_p99_ms": p99,
        "auth_share_of_authenticated_request": round(share_me, 3),
        "auth_and_read_share_of_get_tenant": round(share_tenant, 3),
        "target": "authentication < 10% of an authenticated request's time",
        "target_met": share_me < 0.10,
        "non_2xx": {r: sum(s["non_2xx"] for s in samples[r]) for r in ROUTES},
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table, write JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.auth", description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per sample")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "auth.json")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    started = utc_now()
    samples = measure(args.duration, args.connections, args.repeat)
    summary = summarise(samples)
    rows = [
        [
            route,
            fmt_int(summary["median_requests_per_s"][route]),
            f"{summary['median_p99_ms'][route]:.2f}",
        ]
        for route in ROUTES
    ]
    print(markdown_table(["route", "req/s (median)", "p99 ms"], rows))
    print(
        f"\nauthentication share of GET /v1/me: "
        f"{summary['auth_share_of_authenticated_request']:.1%} "
        f"(target < 10%: {'met' if summary['target_met'] else 'NOT met'})"
    )
    write_json(
        args.output,
        {
            "benchmark": "auth",
            "started": started,
            "finished": utc_now(),
            "parameters": vars(args) | {"output": str(args.output)},
            "machine": machine_info(),
            "revision": git_revision(ROOT),
            "samples": samples,
            "summary": summary,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
