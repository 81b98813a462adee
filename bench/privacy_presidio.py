"""The Presidio half of ``bench.privacy``: run by Presidio's virtualenv's Python.

Presidio lives in its own virtualenv (``bench/.venvs/``): presidio-anonymizer
2.2.366 pins ``cryptography<51``, below Phantom's, and presidio-analyzer brings
spaCy. This script imports nothing of Phantom or of ``bench``: the standard
library and Presidio only. It prints one JSON object on stdout::

    python bench/privacy_presidio.py CORPUS.json [--engine noop|blank] [--findings]
    python bench/privacy_presidio.py version

``CORPUS.json`` is ``{"texts": [str, ...], "records": [object, ...]}``.

The analyzer has the predefined *pattern* recognizers only, no NER model:
``EmailRecognizer``, ``CreditCardRecognizer``, ``IbanRecognizer``,
``IpRecognizer``, ``UsSsnRecognizer``, ``UkNinoRecognizer`` and
``PhoneRecognizer`` (the ``phonenumbers`` library, no spaCy), in a
``RecognizerRegistry`` of their own. The NLP engine is

* ``noop``: Presidio's own ``NoOpNlpEngine``, which loads no model and returns
  no tokens, so context words in the text cannot raise scores (context passed
  explicitly, such as a record's key, still can);
* ``blank``: ``SlimSpacyNlpEngine`` with the spaCy tokenizer of
  ``spacy.blank("en")`` (no model, no lemmatizer), so context words in the text
  count.

Timed, one pass each over the whole corpus, after a warm-up pass over the first
texts and records:

* ``analyze_text``: ``AnalyzerEngine.analyze(text, language="en")`` per text;
* ``analyze_record``: ``BatchAnalyzerEngine.analyze_dict(record, "en")`` per
  record, consumed to the end (it yields lazily);
* ``anonymize_text``: ``analyze`` then ``AnonymizerEngine.anonymize`` (its
  default operator: ``<ENTITY_TYPE>``);
* ``anonymize_record``: ``analyze_dict`` then
  ``BatchAnonymizerEngine.anonymize_dict``.

``--findings`` adds every analyzer result as ``[doc, path, entity, start, end,
score, recognizer]``: texts are documents ``0..n-1`` (path ``""``), records
``n`` onwards with the path of their string (``customer.email``, ``tags[0]``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

# tldextract (the e-mail recognizer's domain check) would fetch the public
# suffix list over the network on first use; its bundled snapshot is enough.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

WARMUP = 50


def _versions() -> dict[str, str]:
    names = ("presidio-analyzer", "presidio-anonymizer", "spacy", "phonenumbers")
    return {name: metadata.version(name) for name in names}


def build(engine: str) -> tuple[Any, Any, Any, Any]:
    """The analyzer, batch analyzer, anonymizer and batch anonymizer."""
    from presidio_analyzer import (  # type: ignore[import-not-found,unused-ignore]
        AnalyzerEngine,
        BatchAnalyzerEngine,
        RecognizerRegistry,
    )
    from presidio_analyzer.nlp_engine import (  # type: ignore[import-not-found,unused-ignore]
        NoOpNlpEngine,
        SlimSpacyNlpEngine,
    )
    from presidio_analyzer.predefined_recognizers import (  # type: ignore[import-not-found,unused-ignore]
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UkNinoRecognizer,
        UsSsnRecognizer,
    )
    from presidio_anonymizer import (  # type: ignore[import-not-found,unused-ignore]
        AnonymizerEngine,
        BatchAnonymizerEngine,
    )

    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        EmailRecognizer,
        CreditCardRecognizer,
        IbanRecognizer,
        IpRecognizer,
        UsSsnRecognizer,
        UkNinoRecognizer,
        PhoneRecognizer,
    ):
        registry.add_recognizer(recognizer())
    if engine == "noop":
        nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    else:
        import spacy  # type: ignore[import-not-found,unused-ignore]

        # "blank" is only the fallback for languages without a default model;
        # giving the engine its pipelines keeps it from loading en_core_web_sm.
        nlp = SlimSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
        nlp.nlp = {"en": spacy.blank("en")}
    analyzer = AnalyzerEngine(
        registry=registry, nlp_engine=nlp, supported_languages=["en"]
    )
    return (
        analyzer,
        BatchAnalyzerEngine(analyzer),
        AnonymizerEngine(),
        BatchAnonymizerEngine(),
    )


def _drain(results: Iterable[Any]) -> list[Any]:
    """``analyze_dict`` yields lazily, nested dicts too: consume everything."""
    drained = []
    for item in results:
        nested = item.recognizer_results
        if isinstance(item.value, dict):
            nested = _drain(nested)
        drained.append(
            type(item)(key=item.key, value=item.value, recognizer_results=nested)
        )
    return drained


def _flatten(results: list[Any], prefix: str) -> Iterable[tuple[str, Any]]:
    """``(path, RecognizerResult)`` for a drained ``analyze_dict`` result."""
    for item in results:
        path = f"{prefix}.{item.key}" if prefix else str(item.key)
        if isinstance(item.value, dict):
            yield from _flatten(item.recognizer_results, path)
        elif isinstance(item.value, list):
            for index, found in enumerate(item.recognizer_results):
                for result in found:
                    yield f"{path}[{index}]", result
        else:
            for result in item.recognizer_results:
                yield path, result


def run(path: str, engine: str, *, findings: bool) -> dict[str, Any]:
    """Warm up, then one timed pass of each operation over the corpus."""
    corpus = json.loads(Path(path).read_text(encoding="utf-8"))
    texts: list[str] = corpus["texts"]
    records: list[Any] = corpus["records"]
    analyzer, batch, anonymizer, batch_anonymizer = build(engine)

    def analyze_text(items: list[str]) -> list[Any]:
        return [analyzer.analyze(text, language="en") for text in items]

    def analyze_record(items: list[Any]) -> list[Any]:
        return [_drain(batch.analyze_dict(record, "en")) for record in items]

    def anonymize_text(items: list[str]) -> list[Any]:
        return [
            anonymizer.anonymize(
                text=text, analyzer_results=analyzer.analyze(text, language="en")
            ).text
            for text in items
        ]

    def anonymize_record(items: list[Any]) -> list[Any]:
        return [
            batch_anonymizer.anonymize_dict(batch.analyze_dict(record, "en"))
            for record in items
        ]

    passes: dict[str, tuple[Callable[[list[Any]], list[Any]], list[Any]]] = {
        "analyze_text": (analyze_text, texts),
        "analyze_record": (analyze_record, records),
        "anonymize_text": (anonymize_text, texts),
        "anonymize_record": (anonymize_record, records),
    }
    for call, items in passes.values():
        call(items[:WARMUP])
    seconds: dict[str, float] = {}
    outputs: dict[str, list[Any]] = {}
    for name, (call, items) in passes.items():
        started = time.perf_counter()
        outputs[name] = call(items)
        seconds[name] = time.perf_counter() - started
    result: dict[str, Any] = {
        "engine": engine,
        "seconds": seconds,
        "versions": _versions(),
        "sample_anonymized_text": outputs["anonymize_text"][0],
        "sample_anonymized_record": outputs["anonymize_record"][0],
    }
    if findings:
        found: list[list[Any]] = []
        for doc, results in enumerate(outputs["analyze_text"]):
            found.extend(
                [doc, "", r.entity_type, r.start, r.end, r.score, _name(r)]
                for r in results
            )
        for index, drained in enumerate(outputs["analyze_record"]):
            doc = len(texts) + index
            found.extend(
                [doc, where, r.entity_type, r.start, r.end, r.score, _name(r)]
                for where, r in _flatten(drained, "")
            )
        result["findings"] = found
    return result


def _name(result: Any) -> str:
    metadata_ = result.recognition_metadata or {}
    return str(metadata_.get("recognizer_name", ""))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, print the JSON result."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["version"]:
        print(json.dumps(_versions()))
        return 0
    parser = argparse.ArgumentParser(prog="privacy_presidio.py")
    parser.add_argument("corpus")
    parser.add_argument("--engine", default="noop", choices=("noop", "blank"))
    parser.add_argument("--findings", action="store_true")
    parsed = parser.parse_args(args)
    result = run(parsed.corpus, parsed.engine, findings=parsed.findings)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
