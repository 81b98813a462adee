"""Drift reports: Phantom's monitoring domain against Evidently's DataDriftPreset.

The data: a reference and a current table of N rows (default 100,000) by 20
numeric features from one fixed seed: 7 normal, 7 lognormal and 6 uniform
columns, each with its own location and scale. The current table is a fresh
draw from the same distributions except in exactly three features, one of each
family, shifted by a moderate amount (see :data:`SHIFTS`).

Measured in one run, the median of ``--repeat`` samples each (a Phantom sample
is the mean of as many calls as last ``--min-seconds``, default 1 s):

a. Phantom's full report from the raw arrays, ``drift_report(reference,
   current)``: :func:`build_profile`, :func:`profile_window`, :func:`compare`;
b. with the reference profile built once beforehand: ``profile_window`` and
   ``compare`` only;
c. an incremental update: a window already holding N - N/10 rows gets N/10 new
   ones (``WindowAccumulator.add``, ``snapshot()``, ``compare``);
d. Evidently's ``Report([DataDriftPreset()], include_tests=True).run(current,
   reference)`` on the same data (passed as an ``.npz`` file), in its own
   virtualenv under ``bench/.venvs/`` (made on the first run), and the same
   with ``DataDriftPreset(method="ks")``;

plus, for reference, building the profile alone and a plain loop of SciPy's
``ks_2samp`` over the 20 columns. Targets (DESIGN §9): (d)/(a) >= 10 and
(d)/(b) >= 50, with the same verdicts.

Verdicts are compared per feature: Phantom's default policy (Jensen-Shannon
over the reference deciles, drift at >= 0.1) against Evidently's default
(Wasserstein distance over the reference's standard deviation, >= 0.1), and
Phantom under a policy that mirrors Evidently's small-sample rule (KS,
``p < 0.05``, at every size) against Evidently's ``method="ks"``. Phantom has
no Wasserstein statistic, so Evidently's large-sample rule has no exact mirror.

Run ``python -m bench.drift [--rows 100000] [--repeat 5] [--quick]``; JSON goes
to ``bench/results/drift.json`` (``drift.quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import stats

from bench.common import (
    RESULTS_DIR,
    fmt_ratio,
    git_revision,
    library_versions,
    load_average,
    machine_info,
    markdown_table,
    median,
    peer_python,
    utc_now,
    write_json,
)
from phantom.monitoring.domain import (
    DEFAULT_POLICY,
    DriftPolicy,
    DriftReport,
    DriftRule,
    WindowAccumulator,
    build_profile,
    compare,
    drift_report,
    profile_window,
)

__all__ = ["main"]

ROOT: Final = Path(__file__).resolve().parents[1]
WORKDIR: Final = ROOT / "bench" / ".work"
VENVS: Final = ROOT / "bench" / ".venvs"
DRIVER: Final = ROOT / "bench" / "drift_evidently.py"
EVIDENTLY_VERSION: Final = "0.7.23"
FEATURES: Final = 20
SEED: Final = 20261207
QUICK_ROWS: Final = 20_000
TARGET_FULL: Final = 10.0
TARGET_PRECOMPUTED: Final = 50.0
FAMILIES: Final = ("normal", "lognormal", "uniform")
SHIFTS: Final = {3: 0.4, 7: 0.4, 11: 0.1}
"""Feature index -> shift. ``f03`` (normal): the mean moves by 0.4 standard
deviations; ``f07`` (lognormal): the log-mean moves by 0.4 log-standard
deviations (values x ~1.2-1.5); ``f11`` (uniform): the interval slides by 10% of
its width."""
KS_POLICY: Final = DriftPolicy(numeric=DriftRule("ks", 0.05))
"""Evidently's small-sample rule (KS ``p < 0.05``) at every sample size; also
what ``DataDriftPreset(method="ks")`` applies."""

Table = dict[str, npt.NDArray[np.float64]]


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def evidently_requirements(version: str) -> list[str]:
    """What Evidently's virtualenv gets: it breaks under pandas 3 (no upper pin)."""
    return [f"evidently=={version}", "pandas<3"]


# -- the data --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Data:
    """The two tables, as columns and as row-major matrices (for the peer)."""

    names: list[str]
    families: list[str]
    reference: Table
    current: Table
    shifted: list[str]


def _column(
    rng: np.random.Generator, family: str, params: tuple[float, float], rows: int
) -> npt.NDArray[np.float64]:
    a, b = params
    if family == "normal":
        return rng.normal(a, b, rows)
    if family == "lognormal":
        return rng.lognormal(a, b, rows)
    return rng.uniform(a, a + b, rows)


def make_data(rows: int, seed: int = SEED, shift_scale: float = 1.0) -> Data:
    """Reference and current tables; current is shifted in :data:`SHIFTS` only.

    ``shift_scale`` multiplies every shift (to probe where verdicts part).
    """
    rng = np.random.default_rng(seed)
    names = [f"f{i:02d}" for i in range(FEATURES)]
    families = [FAMILIES[i % 3] for i in range(FEATURES)]
    params: list[tuple[float, float]] = []
    for family in families:
        if family == "normal":  # mean, standard deviation
            params.append((rng.uniform(-50, 50), rng.uniform(0.5, 20)))
        elif family == "lognormal":  # log-mean, log-standard deviation
            params.append((rng.uniform(-1, 2), rng.uniform(0.25, 1.0)))
        else:  # low, width
            params.append((rng.uniform(-10, 10), rng.uniform(1, 100)))
    ref_rng, cur_rng = (np.random.default_rng(s) for s in rng.integers(0, 2**63, 2))
    reference = {
        n: _column(ref_rng, f, p, rows)
        for n, f, p in zip(names, families, params, strict=True)
    }
    current: Table = {}
    for index, (name, family, (a, b)) in enumerate(
        zip(names, families, params, strict=True)
    ):
        shift = SHIFTS.get(index, 0.0) * shift_scale
        moved = (a + shift * b, b)  # loc + k sd, log-mean + k log-sd, low + k width
        current[name] = _column(cur_rng, family, moved, rows)
    shifted = [names[i] for i in sorted(SHIFTS)]
    return Data(names, families, reference, current, shifted)


def write_npz(data: Data, path: Path) -> None:
    """The tables as ``reference``/``current`` row-major matrices and ``names``."""
    np.savez(
        path,
        names=np.asarray(data.names),
        reference=np.column_stack([data.reference[n] for n in data.names]),
        current=np.column_stack([data.current[n] for n in data.names]),
    )


# -- Phantom's side --------------------------------------------------------------------


def _timed(call: Callable[[], Any], min_seconds: float) -> tuple[float, int, Any]:
    """Mean seconds per call over calls lasting ``min_seconds``; the first result.

    A single call of Phantom's is short enough (10-200 ms) for a neighbour's
    burst of CPU to dominate it, so a sample is the mean of several.
    """
    first: Any = None
    done, spent = 0, 0.0
    while done == 0 or spent < min_seconds:
        started = time.perf_counter()
        result = call()
        spent += time.perf_counter() - started
        if done == 0:
            first = result
        done += 1
    return spent / done, done, first


def phantom_sample(data: Data, min_seconds: float = 0.0) -> dict[str, Any]:
    """One sample of each Phantom measurement (and the SciPy reference loop).

    The incremental update adds the same N/10 rows again on each call: a
    window keeps counts only, so the cost of ``add``, ``snapshot`` and
    ``compare`` does not grow with the rows already counted; the verdicts
    reported are those of the first call (the window of exactly N rows).
    """
    ref, cur = data.reference, data.current
    rows = len(cur[data.names[0]])
    fresh = rows // 10
    seconds: dict[str, float] = {}
    calls: dict[str, int] = {}
    seconds["full"], calls["full"], full = _timed(
        lambda: drift_report(ref, cur), min_seconds
    )
    seconds["profile"], calls["profile"], profile = _timed(
        lambda: build_profile(ref), min_seconds
    )
    seconds["precomputed"], calls["precomputed"], report = _timed(
        lambda: compare(profile, profile_window(profile, cur)), min_seconds
    )
    accumulator = WindowAccumulator(profile)
    accumulator.add({n: v[: rows - fresh] for n, v in cur.items()})
    chunk = {n: v[rows - fresh :] for n, v in cur.items()}

    def incremental() -> DriftReport:
        accumulator.add(chunk)
        return compare(profile, accumulator.snapshot())

    seconds["incremental"], calls["incremental"], updated = _timed(
        incremental, min_seconds
    )
    seconds["scipy_ks_loop"], calls["scipy_ks_loop"], _ = _timed(
        lambda: [stats.ks_2samp(ref[n], cur[n]) for n in data.names], min_seconds
    )
    same = [
        a.stats == b.stats and a.drifted == b.drifted
        for a, b in zip(report.features, updated.features, strict=True)
    ]
    return {
        "seconds": seconds,
        "calls": calls,
        "drifted": {
            "full": list(full.drifted_features()),
            "precomputed": list(report.drifted_features()),
            "incremental": list(updated.drifted_features()),
        },
        "incremental_equals_precomputed": all(same),
        "incremental_rows": [rows - fresh, fresh],
    }


def phantom_verdicts(data: Data) -> dict[str, Any]:
    """Per-feature verdicts under the default policy and the KS mirror."""
    profile = build_profile(data.reference)
    window = profile_window(profile, data.current)
    found: dict[str, Any] = {}
    for label, policy in (("default", DEFAULT_POLICY), ("ks", KS_POLICY)):
        report = compare(profile, window, policy)
        found[label] = {
            "policy": policy.to_dict(),
            "drifted": list(report.drifted_features()),
            "dataset_drifted": report.dataset_drifted,
            "drift_share": report.drift_share,
            "columns": {
                c.name: {
                    "statistic": c.statistic,
                    "value": c.value,
                    "drifted": c.drifted,
                    "stats": dict(c.stats),
                }
                for c in report.features
            },
        }
    return found


# -- Evidently's side ------------------------------------------------------------------


def evidently_call(python: Path, *args: str) -> dict[str, Any]:
    """One run of the Evidently driver, in Evidently's virtualenv."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(
        [str(python), str(DRIVER), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
        env=env,
    )
    if done.returncode != 0:
        msg = f"the Evidently driver failed ({' '.join(args)}):\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the run ---------------------------------------------------------------------------


def measure(args: argparse.Namespace, data: Data, npz: Path) -> dict[str, Any]:
    """Every sample, the order of the implementations rotating per repeat."""
    phantom_sample(data)  # warm-up: imports, first calls, page faults
    methods = [m for m in args.evidently_methods.split(",") if m]
    names = ["phantom", *(f"evidently_{m}" for m in methods)]
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for index in range(args.repeat):
        turn = index % len(names)
        for who in names[turn:] + names[:turn]:
            if who == "phantom":
                sample = phantom_sample(data, args.min_seconds)
                line = ", ".join(f"{k} {v:.3f}s" for k, v in sample["seconds"].items())
            else:
                method = who.removeprefix("evidently_")
                sample = evidently_call(args.python, str(npz), "--method", method)
                line = f"{sample['seconds'][0]:.2f}s, drifted {sample['drifted']}"
            samples[who].append(sample)
            _progress(f"[{index + 1}/{args.repeat}] {who}: {line}")
    return samples


def _agreement(names: list[str], ours: list[str], theirs: list[str]) -> dict[str, Any]:
    mine, peer = set(ours), set(theirs)
    differ = [n for n in names if (n in mine) != (n in peer)]
    return {
        "features_agreeing": len(names) - len(differ),
        "features": len(names),
        "disagree_on": differ,
        "same_set": not differ,
    }


def summarise(
    data: Data, samples: dict[str, Any], verdicts: dict[str, Any]
) -> dict[str, Any]:
    """Medians, ratios, targets and the verdict comparison."""
    ph = samples["phantom"]
    times = {k: median([s["seconds"][k] for s in ph]) for k in ph[0]["seconds"]}
    peers = {
        who: median([s["seconds"][0] for s in runs])
        for who, runs in samples.items()
        if who != "phantom"
    }
    evidently = peers.get("evidently_default")
    ratios: dict[str, float | None] = {
        f"evidently_default/{k}": (evidently / v if evidently else None)
        for k, v in times.items()
    }
    if "evidently_ks" in peers:
        ratios["evidently_ks/full"] = peers["evidently_ks"] / times["full"]
    truth = data.shifted
    agreement: dict[str, Any] = {
        "phantom_default vs truth": _agreement(
            data.names, verdicts["default"]["drifted"], truth
        ),
        "phantom_ks vs truth": _agreement(data.names, verdicts["ks"]["drifted"], truth),
    }
    for who in peers:
        theirs = samples[who][-1]["drifted"]
        method = who.removeprefix("evidently_")
        agreement[f"{who} vs truth"] = _agreement(data.names, theirs, truth)
        agreement[f"phantom_{method} vs {who}"] = _agreement(
            data.names, verdicts[method]["drifted"], theirs
        )
    full_ratio = ratios["evidently_default/full"]
    pre_ratio = ratios["evidently_default/precomputed"]
    same = agreement.get("phantom_default vs evidently_default", {}).get("same_set")
    return {
        "rows": len(data.reference[data.names[0]]),
        "features": len(data.names),
        "shifted": truth,
        "phantom_seconds": times,
        "peer_seconds": peers,
        "ratios": ratios,
        "agreement": agreement,
        "targets": {
            ">= 10x evidently, full report": None
            if full_ratio is None
            else full_ratio >= TARGET_FULL,
            ">= 50x evidently, precomputed profile": None
            if pre_ratio is None
            else pre_ratio >= TARGET_PRECOMPUTED,
            "same verdicts (default vs default)": same,
        },
        "incremental_equals_precomputed": all(
            s["incremental_equals_precomputed"] for s in ph
        ),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def _met(value: bool | None) -> str:
    return "n/a" if value is None else ("met" if value else "NOT met")


def print_tables(
    data: Data, summary: dict[str, Any], samples: dict[str, Any], verdicts: Any
) -> None:
    """The Markdown tables on stdout: times and ratios, then verdicts per feature."""
    t, r, targets = summary["phantom_seconds"], summary["ratios"], summary["targets"]
    peers = summary["peer_seconds"]
    ev = peers.get("evidently_default")
    fresh = summary["rows"] // 10
    rows = [
        [
            "(a) full report from raw arrays",
            "`drift_report` = `build_profile` + `profile_window` + `compare`",
            _ms(t["full"]),
            fmt_ratio(r["evidently_default/full"]),
            f">= 10x: {_met(targets['>= 10x evidently, full report'])}",
        ],
        [
            "(b) reference profile precomputed",
            "`profile_window` + `compare`",
            _ms(t["precomputed"]),
            fmt_ratio(r["evidently_default/precomputed"]),
            f">= 50x: {_met(targets['>= 50x evidently, precomputed profile'])}",
        ],
        [
            f"(c) incremental: {fresh:,} new rows into a window",
            "`WindowAccumulator.add` + `snapshot` + `compare`",
            _ms(t["incremental"]),
            fmt_ratio(r["evidently_default/incremental"]),
            "-",
        ],
        [
            "building the reference profile alone",
            "`build_profile`",
            _ms(t["profile"]),
            fmt_ratio(r["evidently_default/profile"]),
            "-",
        ],
        [
            "reference: SciPy `ks_2samp` loop, 20 columns",
            "-",
            _ms(t["scipy_ks_loop"]),
            fmt_ratio(r["evidently_default/scipy_ks_loop"]),
            "-",
        ],
    ]
    for who, seconds in peers.items():
        label = "default" if who == "evidently_default" else 'method="ks"'
        rows.append(
            [
                f"(d) Evidently `DataDriftPreset` ({label})",
                "`Report(...).run(current, reference)`",
                _ms(seconds),
                fmt_ratio(ev / seconds) if ev else "n/a",
                "-",
            ]
        )
    headers = ["measurement", "what runs", "ms (median)", "Evidently ÷ this", "target"]
    print(markdown_table(headers, rows))
    print()
    evid = {
        who: runs[-1]["columns"] for who, runs in samples.items() if who != "phantom"
    }
    header = ["feature", "family", "shifted", "phantom JS (>= 0.1)"]
    if "evidently_default" in evid:
        header.append("Evidently Wasserstein/sd (>= 0.1)")
    header.append("phantom KS p (< 0.05)")
    if "evidently_ks" in evid:
        header.append("Evidently KS p (< 0.05)")
    table: list[list[str]] = []
    for name, family in zip(data.names, data.families, strict=True):
        ours = verdicts["default"]["columns"][name]
        ks = verdicts["ks"]["columns"][name]
        row = [
            name,
            family,
            "yes" if name in data.shifted else "",
            _cell(ours["value"], ours["drifted"]),
        ]
        if "evidently_default" in evid:
            e = evid["evidently_default"][name]
            row.append(_cell(e["score"], e["drifted"]))
        row.append(_cell(ks["value"], ks["drifted"]))
        if "evidently_ks" in evid:
            e = evid["evidently_ks"][name]
            row.append(_cell(e["score"], e["drifted"]))
        table.append(row)
    print(markdown_table(header, table))
    print()
    for pair, found in summary["agreement"].items():
        differ = ", ".join(found["disagree_on"]) or "none"
        print(
            f"- {pair}: {found['features_agreeing']}/{found['features']} agree"
            f" (differ on: {differ})"
        )


def _cell(value: float | None, drifted: bool) -> str:
    text = "n/a" if value is None else f"{value:.3g}"
    return f"**{text} drift**" if drifted else text


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per table")
    parser.add_argument("--repeat", type=int, default=5, help="samples each")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 1 sample")
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="a Phantom sample is the mean of calls lasting this long",
    )
    parser.add_argument(
        "--evidently-methods",
        default="default,ks",
        help="comma-separated: default, ks (empty: Phantom alone)",
    )
    parser.add_argument("--evidently-version", default=EVIDENTLY_VERSION)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--shift-scale", type=float, default=1.0, help="multiplies every shift"
    )
    parser.add_argument("--venvs", type=Path, default=VENVS)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = QUICK_ROWS, 1
    if args.rows < 2_000 or args.repeat < 1:
        parser.error("--rows >= 2000 and --repeat >= 1")
    unknown = set(filter(None, args.evidently_methods.split(","))) - {"default", "ks"}
    if unknown:
        parser.error(f"unknown Evidently methods: {sorted(unknown)}")
    stem = "drift.quick" if args.quick else "drift"
    args.output = args.output or RESULTS_DIR / f"{stem}.json"
    started, load_start = utc_now(), load_average()
    args.python = None
    if args.evidently_methods.strip(","):
        args.python = peer_python(
            "evidently",
            args.evidently_version,
            args.venvs,
            evidently_requirements(args.evidently_version),
        )
    data = make_data(args.rows, args.seed, args.shift_scale)
    verdicts = phantom_verdicts(data)
    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="drift-", dir=args.workdir))
    try:
        npz = work / "data.npz"
        write_npz(data, npz)
        samples = measure(args, data, npz)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = summarise(data, samples, verdicts)
    print_tables(data, summary, samples, verdicts)
    payload = {
        "benchmark": "drift",
        "started": started,
        "finished": utc_now(),
        "parameters": vars(args)
        | {k: str(getattr(args, k)) for k in ("output", "venvs", "workdir", "python")}
        | {"shifts": {data.names[i]: k * args.shift_scale for i, k in SHIFTS.items()}},
        "summary": summary,
        "verdicts": {"phantom": verdicts},
        "samples": samples,
        "machine": machine_info(
            {
                "load_average_at_start": load_start,
                "load_average_at_end": load_average(),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            }
        ),
        "libraries": {
            "phantom": library_versions(["numpy", "scipy", "pandas"]),
            "evidently_venv": (
                evidently_call(args.python, "version") if args.python else None
            ),
        },
        "revision": git_revision(ROOT),
    }
    write_json(args.output, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
