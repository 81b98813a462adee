"""Read a spec document (JSON or YAML text) into a mapping, within limits.

JSON is tried first when the text starts with ``{``; anything else (and JSON that
does not parse, since ``{a: 1}`` is a YAML flow mapping) is read as YAML with
``yaml.safe_load``, so no tag can build a Python object. Before loading, the YAML
event stream is scanned once: aliases (``*name``, the engine of "billion laughs"
documents) are refused, and so are documents with too many nodes or too deep a
nesting. Texts over :data:`MAX_SPEC_BYTES` are refused before any parsing.
"""

from __future__ import annotations

import json
from typing import Final

import yaml

from phantom.kernel.errors import InvalidField, PayloadTooLarge

__all__ = ["MAX_SPEC_BYTES", "load_document"]

MAX_SPEC_BYTES: Final = 256 * 1024
MAX_NODES: Final = 20_000
MAX_DEPTH: Final = 32
_OPENERS: Final = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSERS: Final = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _yaml_error(exc: yaml.YAMLError) -> InvalidField:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        where = (
            f"line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}"
        )
        return InvalidField("spec", f"not valid YAML or JSON: {exc.problem} ({where})")
    return InvalidField("spec", "not valid YAML or JSON")


def _scan_yaml(text: str) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise InvalidField("spec", "YAML aliases (*name) are not allowed")
        if isinstance(event, _OPENERS):
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidField("spec", f"nests deeper than {MAX_DEPTH} levels")
        elif isinstance(event, _CLOSERS):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise InvalidField("spec", f"has more than {MAX_NODES} values")


def _load_json(text: str) -> object | None:
    try:
        return json.loads(text)  # type: ignore[no-any-return]
    except json.JSONDecodeError:
        return None
    except RecursionError:
        raise InvalidField("spec", f"nests deeper than {MAX_DEPTH} levels") from None


def load_document(text: str) -> dict[str, object]:
    """The top-level mapping of the JSON or YAML document ``text``.

    Raises:
        PayloadTooLarge: ``text`` is over :data:`MAX_SPEC_BYTES` once encoded.
        InvalidField: (``spec``) it does not parse, uses YAML aliases, is too big
            or too deep once parsed, or its top level is not a mapping.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_SPEC_BYTES:
        msg = f"spec: {size} bytes; a spec is at most {MAX_SPEC_BYTES} bytes"
        raise PayloadTooLarge(msg)
    document = _load_json(text) if text.lstrip().startswith("{") else None
    if document is None:
        try:
            _scan_yaml(text)
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise _yaml_error(exc) from None
    if not isinstance(document, dict):
        raise InvalidField("spec", "the top level must be a mapping of fields")
    return document
