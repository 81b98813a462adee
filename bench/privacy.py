"""PII scanning and anonymization: Phantom's privacy domain against Presidio.

The corpus is Phantom's own labelled synthetic one,
:func:`phantom.privacy.corpus.generate_corpus` (fixed seed): free texts of short
sentences that each hold one PII value, one look-alike (a hard negative) or
nothing, and JSON records shaped like a prediction-log entry with PII in known
fields and in a free-text note. It was written by the same engineers as
Phantom's detectors, which is why Phantom scores perfectly on it: read the
accuracy columns with that in mind.

Measured in one run, the median of ``--repeat`` samples of one pass over the
whole corpus each (for Phantom, whose pass is short, a sample is the mean of as
many passes as last ``--min-seconds``, default 1 s):

* **phantom**: ``analyze_text``/``analyze_record`` and
  ``anonymize_text``/``anonymize_record`` under ``DEFAULT_POLICY`` (all eight
  built-in entity types, ``SECRET`` included; cards masked, secrets hashed,
  everything else ``<ENTITY>``);
* **phantom_like_presidio**: the same calls under a policy with Presidio's
  seven entity types and ``Replace()`` for all of them, like Presidio's default
  anonymizer;
* **presidio_noop** / **presidio_blank**: Presidio's ``AnalyzerEngine`` with
  the predefined pattern recognizers for those seven types and no NER model,
  with its ``NoOpNlpEngine`` (no tokens) or a spaCy blank English tokenizer;
  ``BatchAnalyzerEngine.analyze_dict`` for records; ``AnonymizerEngine`` /
  ``BatchAnonymizerEngine`` for the anonymizing passes (analysis included).
  Presidio runs in its own virtualenv under ``bench/.venvs/`` (made on the first
  run), driven by ``bench/privacy_presidio.py``.

Throughput is input megabytes (10^6 bytes of UTF-8; a record counts as its
compact JSON) per second of the pass; the records are handed over decoded, so
JSON parsing is not timed on either side. Accuracy: precision, recall and F1
per entity type against the corpus's gold spans, scored by Phantom's
:func:`evaluate` for both sides (Presidio's names mapped to Phantom's), with
exact span matching and with overlap matching.

Run ``python -m bench.privacy [--texts 2000] [--records 500] [--repeat 3]
[--quick]``; JSON goes to ``bench/results/privacy.json``
(``privacy.quick.json`` with ``--quick``).
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
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

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
from phantom.privacy.corpus import DEFAULT_SEED, Corpus, generate_corpus
from phantom.privacy.domain import (
    CREDIT_CARD,
    DEFAULT_POLICY,
    EMAIL,
    IBAN,
    IP_ADDRESS,
    PHONE,
    SECRET,
    UK_NINO,
    US_SSN,
    Finding,
    Policy,
    Replace,
    Scores,
    Span,
    analyze_record,
    analyze_text,
    anonymize_record,
    anonymize_text,
    evaluate,
    resolve_overlaps,
)

__all__ = ["main"]

ROOT: Final = Path(__file__).resolve().parents[1]
WORKDIR: Final = ROOT / "bench" / ".work"
VENVS: Final = ROOT / "bench" / ".venvs"
DRIVER: Final = ROOT / "bench" / "privacy_presidio.py"
PRESIDIO_VERSION: Final = "2.2.366"
KEY: Final = b"bench-privacy-key-0123456789abcdef"
WARMUP: Final = 50
ENTITY_MAP: Final = {
    "EMAIL_ADDRESS": EMAIL,
    "PHONE_NUMBER": PHONE,
    "CREDIT_CARD": CREDIT_CARD,
    "IBAN_CODE": IBAN,
    "IP_ADDRESS": IP_ADDRESS,
    "US_SSN": US_SSN,
    "UK_NINO": UK_NINO,
}
"""Presidio's entity names -> Phantom's."""
SHARED: Final = frozenset(ENTITY_MAP.values())
ENTITIES: Final = (EMAIL, PHONE, CREDIT_CARD, IBAN, IP_ADDRESS, US_SSN, UK_NINO, SECRET)
LIKE_PRESIDIO: Final = Policy(entities=SHARED, operators={CREDIT_CARD: Replace()})
"""Presidio's seven entity types, each replaced by ``<ENTITY>``."""
PASSES: Final = ("analyze_text", "analyze_record", "anonymize_text", "anonymize_record")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def presidio_requirements(version: str) -> list[str]:
    """presidio-anonymizer pins cryptography below ours: its own virtualenv."""
    return [f"presidio-analyzer=={version}", f"presidio-anonymizer=={version}"]


def corpus_bytes(corpus: Corpus) -> dict[str, int]:
    """UTF-8 bytes of the texts, and of the records as compact JSON."""
    return {
        "text": sum(len(item.text.encode()) for item in corpus.texts),
        "record": sum(
            len(json.dumps(item.record, separators=(",", ":")).encode())
            for item in corpus.records
        ),
    }


# -- Phantom's side --------------------------------------------------------------------


def phantom_sample(
    corpus: Corpus, policy: Policy, min_seconds: float = 0.0
) -> dict[str, float]:
    """Seconds per pass of each operation over the whole corpus.

    A pass is repeated until the passes of an operation have lasted
    ``min_seconds`` together, and the figure is their mean: a single pass of
    Phantom's is short enough for a neighbour's burst of CPU to dominate it.
    """
    texts = [item.text for item in corpus.texts]
    records = [item.record for item in corpus.records]
    passes: dict[str, tuple[Callable[[Any], object], list[Any]]] = {
        "analyze_text": (lambda t: analyze_text(t, policy), texts),
        "analyze_record": (lambda r: analyze_record(r, policy), records),
        "anonymize_text": (lambda t: anonymize_text(t, policy, key=KEY), texts),
        "anonymize_record": (lambda r: anonymize_record(r, policy, key=KEY), records),
    }
    seconds: dict[str, float] = {}
    for name, (call, items) in passes.items():
        done, spent = 0, 0.0
        while done == 0 or spent < min_seconds:
            started = time.perf_counter()
            for item in items:
                call(item)
            spent += time.perf_counter() - started
            done += 1
        seconds[name] = spent / done
    return seconds


def phantom_findings(corpus: Corpus, policy: Policy) -> list[Span]:
    """Every span the policy's detectors report, as :func:`score_corpus` does."""
    found: list[Span] = []
    for doc, item in enumerate(corpus.texts):
        found.extend(Span.of(f, doc) for f in analyze_text(item.text, policy))
    for index, labelled in enumerate(corpus.records):
        doc = len(corpus.texts) + index
        found.extend(Span.of(f, doc) for f in analyze_record(labelled.record, policy))
    return found


# -- Presidio's side -------------------------------------------------------------------


def presidio_call(python: Path, *args: str) -> dict[str, Any]:
    """One run of the Presidio driver, in Presidio's virtualenv."""
    env = {**os.environ, "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    done = subprocess.run(
        [str(python), str(DRIVER), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
        env=env,
    )
    if done.returncode != 0:
        msg = f"the Presidio driver failed ({' '.join(args)}):\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def presidio_spans(rows: Iterable[list[Any]], *, resolved: bool) -> list[Span]:
    """Presidio's results as spans with Phantom's entity names.

    ``resolved``: overlapping results of one string settled as Phantom settles
    its own (:func:`resolve_overlaps`: highest score, then longest, ...), which
    is roughly what Presidio's anonymizer does before rewriting.
    """
    findings: dict[tuple[int, str], list[Finding]] = defaultdict(list)
    for doc, path, entity, start, end, score, recognizer in rows:
        name = ENTITY_MAP.get(entity, entity)
        findings[doc, path].append(
            Finding(name, start, end, score, recognizer, path or None)
        )
    spans: list[Span] = []
    for (doc, _), found in findings.items():
        kept = resolve_overlaps(found) if resolved else found
        spans.extend(Span.of(f, doc) for f in kept)
    return spans


# -- the run ---------------------------------------------------------------------------


def measure(
    args: argparse.Namespace, corpus: Corpus, corpus_file: Path
) -> dict[str, Any]:
    """Every sample, the order of the implementations rotating per repeat."""
    policies = {"phantom": DEFAULT_POLICY, "phantom_like_presidio": LIKE_PRESIDIO}
    warm = Corpus(corpus.texts[:WARMUP], corpus.records[:WARMUP])
    for policy in policies.values():
        phantom_sample(warm, policy)
    engines = [e for e in args.presidio_engines.split(",") if e]
    names = [*policies, *(f"presidio_{e}" for e in engines)]
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for index in range(args.repeat):
        turn = index % len(names)
        for who in names[turn:] + names[:turn]:
            if who in policies:
                sample: dict[str, Any] = {
                    "seconds": phantom_sample(corpus, policies[who], args.min_seconds)
                }
            else:
                engine = who.removeprefix("presidio_")
                extra = ["--findings"] if not samples[who] else []
                sample = presidio_call(
                    args.python, str(corpus_file), "--engine", engine, *extra
                )
            samples[who].append(sample)
            line = ", ".join(f"{k} {v:.2f}s" for k, v in sample["seconds"].items())
            _progress(f"[{index + 1}/{args.repeat}] {who}: {line}")
    return samples


def _scores(found: dict[str, Scores], entities: Iterable[str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    tp = fp = fn = 0
    for entity in entities:
        s = found.get(entity) or Scores(entity, 0, 0, 0)
        table[entity] = {
            "tp": s.true_positives,
            "fp": s.false_positives,
            "fn": s.false_negatives,
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
            "f1": round(s.f1, 4),
        }
        if entity in SHARED:
            tp, fp, fn = (
                tp + s.true_positives,
                fp + s.false_positives,
                fn + s.false_negatives,
            )
    micro = Scores("shared", tp, fp, fn)
    table["micro_shared_7"] = {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(micro.precision, 4),
        "recall": round(micro.recall, 4),
        "f1": round(micro.f1, 4),
    }
    # types found that are not in the list (none expected): kept, for the record
    for entity, s in found.items():
        if entity not in table:
            table[entity] = {"tp": s.true_positives, "fp": s.false_positives, "fn": 0}
    return table


def accuracy(corpus: Corpus, samples: dict[str, Any]) -> dict[str, Any]:
    """P/R/F1 per entity type, exact and overlap matching, for every implementation."""
    gold = corpus.gold()
    shared_gold = [span for span in gold if span.entity in SHARED]
    found: dict[str, tuple[list[Span], list[Span]]] = {
        "phantom": (gold, phantom_findings(corpus, DEFAULT_POLICY)),
        "phantom_like_presidio": (shared_gold, phantom_findings(corpus, LIKE_PRESIDIO)),
    }
    for who, runs in samples.items():
        if who.startswith("presidio_"):
            rows = runs[0]["findings"]
            found[who] = (shared_gold, presidio_spans(rows, resolved=False))
            found[f"{who}_resolved"] = (
                shared_gold,
                presidio_spans(rows, resolved=True),
            )
    result: dict[str, Any] = {}
    for who, (expected, spans) in found.items():
        result[who] = {
            match: _scores(
                evaluate(expected, spans, overlap=match == "overlap"), ENTITIES
            )
            for match in ("exact", "overlap")
        }
        result[who]["found_spans"] = len(spans)
    result["gold_spans"] = {e: sum(s.entity == e for s in gold) for e in ENTITIES}
    return result


def summarise(
    corpus: Corpus, sizes: dict[str, int], samples: dict[str, Any]
) -> dict[str, Any]:
    """Median seconds, MB/s per pass and mixed, ratios against Presidio."""
    seconds = {
        who: {p: median([s["seconds"][p] for s in runs]) for p in PASSES}
        for who, runs in samples.items()
    }
    mb = {"text": sizes["text"] / 1e6, "record": sizes["record"] / 1e6}
    rates: dict[str, dict[str, float]] = {}
    for who, t in seconds.items():
        rates[who] = {
            "analyze_text": mb["text"] / t["analyze_text"],
            "analyze_record": mb["record"] / t["analyze_record"],
            "analyze_mixed": (mb["text"] + mb["record"])
            / (t["analyze_text"] + t["analyze_record"]),
            "anonymize_text": mb["text"] / t["anonymize_text"],
            "anonymize_record": mb["record"] / t["anonymize_record"],
            "anonymize_mixed": (mb["text"] + mb["record"])
            / (t["anonymize_text"] + t["anonymize_record"]),
        }
    ratios: dict[str, dict[str, float]] = {}
    for peer in (w for w in rates if w.startswith("presidio_")):
        for who in ("phantom", "phantom_like_presidio"):
            ratios[f"{who}/{peer}"] = {
                k: round(v / rates[peer][k], 1) for k, v in rates[who].items()
            }
    return {
        "texts": len(corpus.texts),
        "records": len(corpus.records),
        "megabytes": {k: round(v, 4) for k, v in mb.items()},
        "seconds": seconds,
        "mb_per_s": {
            w: {k: round(v, 4) for k, v in r.items()} for w, r in rates.items()
        },
        "ratios": ratios,
    }


LABELS: Final = {
    "phantom": "phantom (default policy, 8 types)",
    "phantom_like_presidio": "phantom (Presidio's 7 types, all replaced)",
    "presidio_noop": "Presidio, `NoOpNlpEngine`",
    "presidio_blank": "Presidio, spaCy blank tokenizer",
}


def print_tables(summary: dict[str, Any], scores: dict[str, Any]) -> None:
    """The Markdown tables on stdout: throughput, then accuracy."""
    rates = summary["mb_per_s"]
    peer = next((w for w in rates if w.startswith("presidio_")), None)
    rows: list[list[str]] = []
    for who, r in rates.items():
        row = [LABELS.get(who, who)]
        row += [f"{r[k]:.3f}" for k in ("analyze_text", "analyze_record")]
        row += [f"{r['analyze_mixed']:.3f}"]
        row += [f"{r[k]:.3f}" for k in ("anonymize_text", "anonymize_record")]
        row += [f"{r['anonymize_mixed']:.3f}"]
        if peer:
            row.append(fmt_ratio(r["analyze_mixed"] / rates[peer]["analyze_mixed"]))
            row.append(fmt_ratio(r["anonymize_mixed"] / rates[peer]["anonymize_mixed"]))
        rows.append(row)
    headers = [
        "implementation",
        "analyze text MB/s",
        "analyze records MB/s",
        "analyze mixed MB/s",
        "anonymize text MB/s",
        "anonymize records MB/s",
        "anonymize mixed MB/s",
    ]
    if peer:
        headers += [f"analyze vs {peer}", f"anonymize vs {peer}"]
    mb = summary["megabytes"]
    print(
        f"corpus: {summary['texts']:,} texts ({mb['text']:.3f} MB), "
        f"{summary['records']:,} records ({mb['record']:.3f} MB as compact JSON)\n"
    )
    print(markdown_table(headers, rows))
    for match in ("exact", "overlap"):
        print(f"\nprecision / recall / F1, {match} span match:\n")
        whos = [w for w in scores if w != "gold_spans"]
        table: list[list[str]] = []
        for entity in (*ENTITIES, "micro_shared_7"):
            row = [entity, str(scores["gold_spans"].get(entity, "-"))]
            for who in whos:
                s = scores[who][match].get(entity)
                if entity == SECRET and who != "phantom":
                    row.append("no detector")
                elif s is None or "precision" not in s:
                    row.append("-")
                else:
                    row.append(
                        f"{s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f}"
                    )
            table.append(row)
        print(markdown_table(["entity", "gold", *whos], table))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.privacy", description=__doc__
    )
    parser.add_argument("--texts", type=int, default=2_000, help="free texts")
    parser.add_argument("--records", type=int, default=500, help="JSON records")
    parser.add_argument("--repeat", type=int, default=3, help="samples each")
    parser.add_argument("--quick", action="store_true", help="400 texts, 100 records")
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="Phantom repeats each pass until its passes last this long (mean)",
    )
    parser.add_argument(
        "--presidio-engines",
        default="noop,blank",
        help="comma-separated: noop, blank (empty: Phantom alone)",
    )
    parser.add_argument("--presidio-version", default=PRESIDIO_VERSION)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--venvs", type=Path, default=VENVS)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.records, args.repeat = 400, 100, 1
    if args.texts < 1 or args.records < 1 or args.repeat < 1:
        parser.error("--texts, --records and --repeat must be positive")
    unknown = set(filter(None, args.presidio_engines.split(","))) - {"noop", "blank"}
    if unknown:
        parser.error(f"unknown Presidio engines: {sorted(unknown)}")
    stem = "privacy.quick" if args.quick else "privacy"
    args.output = args.output or RESULTS_DIR / f"{stem}.json"
    started, load_start = utc_now(), load_average()
    args.python = None
    if args.presidio_engines.strip(","):
        args.python = peer_python(
            "presidio",
            args.presidio_version,
            args.venvs,
            presidio_requirements(args.presidio_version),
        )
    corpus = generate_corpus(args.seed, texts=args.texts, records=args.records)
    sizes = corpus_bytes(corpus)
    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="privacy-", dir=args.workdir))
    try:
        corpus_file = work / "corpus.json"
        corpus_file.write_text(
            json.dumps(
                {
                    "texts": [item.text for item in corpus.texts],
                    "records": [item.record for item in corpus.records],
                }
            ),
            encoding="utf-8",
        )
        samples = measure(args, corpus, corpus_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    scores = accuracy(corpus, samples)
    summary = summarise(corpus, sizes, samples)
    print_tables(summary, scores)
    for runs in samples.values():
        for sample in runs:
            sample.pop("findings", None)
    payload = {
        "benchmark": "privacy",
        "started": started,
        "finished": utc_now(),
        "parameters": vars(args)
        | {k: str(getattr(args, k)) for k in ("output", "venvs", "workdir", "python")}
        | {"entity_map": ENTITY_MAP},
        "summary": summary,
        "accuracy": scores,
        "samples": samples,
        "machine": machine_info(
            {"load_average_at_start": load_start, "load_average_at_end": load_average()}
        ),
        "libraries": {
            "phantom": library_versions(["regex"]),
            "presidio_venv": (
                presidio_call(args.python, "version") if args.python else None
            ),
        },
        "revision": git_revision(ROOT),
    }
    write_json(args.output, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
