"""Whether named-entity detection (person, location) can run here.

Person and location names need a statistical model: Presidio's analyzer over a
spaCy pipeline. Neither ships with Phantom (the models are hundreds of MB and not
on PyPI), so NER is off unless both are installed; :func:`ner_status` says which
part is missing, and ``phantom privacy status`` / ``GET /v1/privacy/status``
print it. The pattern detectors work either way.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Final

__all__ = ["NER_ENTITIES", "NerStatus", "ner_status"]

NER_ENTITIES: Final = ("PERSON", "LOCATION")
_SPACY_MODELS: Final = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm")


@dataclass(frozen=True, slots=True)
class NerStatus:
    """Whether NER is available, the model it would use, and why not if not."""

    enabled: bool
    model: str | None
    reason: str

    def as_dict(self) -> dict[str, object]:
        """The status as JSON."""
        return {
            "enabled": self.enabled,
            "model": self.model,
            "entities": list(NER_ENTITIES) if self.enabled else [],
            "reason": self.reason,
        }


def ner_status() -> NerStatus:
    """Find Presidio and a spaCy English model without importing them."""
    missing = [
        name
        for name in ("presidio_analyzer", "spacy")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        return NerStatus(
            enabled=False,
            model=None,
            reason=(
                f"off: {', '.join(missing)} not installed "
                "(pip install presidio-analyzer spacy, then a spaCy English model)"
            ),
        )
    for model in _SPACY_MODELS:
        if importlib.util.find_spec(model) is not None:
            return NerStatus(enabled=True, model=model, reason="on")
    return NerStatus(
        enabled=False,
        model=None,
        reason="off: no spaCy English model (python -m spacy download en_core_web_lg)",
    )
