"""``phantom predict``: score instances with a registered model, through the SDK.

::

    phantom predict MODEL [--version N | --alias A] (--data JSON | --file PATH)
                    [--key K] [--json]

``--data`` is a JSON list of instances, arrays (features in signature order) or
records (``{"age": 34, ...}``), or ``{"instances": [...]}``. ``--file`` is a
``.json`` file of the same, or a ``.csv`` file with a header row: each row is a
record, its cells typed by the model version's signature (an empty cell is
null). Without ``--version`` or ``--alias``, the ``production`` alias answers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.table import Table

from phantom.cli.remote import (
    ApiKeyOption,
    JsonOption,
    UrlOption,
    add_row,
    fail,
    print_json,
    talks_to_server,
)
from phantom.sdk import Client
from phantom.sdk.deployments import DEFAULT_ALIAS
from phantom.sdk.models import Prediction, Scalar

__all__ = ["cell_value", "csv_records", "instances_of", "predict"]

_SHAPE: Final = 'a JSON list of instances, or {"instances": [...]}'
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})

Instance = list[Any] | dict[str, Any]


def instances_of(document: object, where: str) -> list[Instance]:
    """The instances in a decoded ``--data`` or ``.json`` document.

    Raises:
        typer.Exit: not a non-empty list of arrays or objects (``error:`` said why).
    """
    if isinstance(document, dict):
        if "instances" not in document:
            msg = f'{where} must be {_SHAPE}; this object has no "instances"'
            raise fail(msg)
        document = document["instances"]
    if not isinstance(document, list) or not document:
        msg = f"{where} must be {_SHAPE}, with at least one instance"
        raise fail(msg)
    for index, row in enumerate(document):
        if not isinstance(row, list | dict):
            msg = f"{where}: instances[{index}] must be an array or an object"
            raise fail(msg)
    return document


def _from_json(text: str, where: str) -> list[Instance]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{where} is not valid JSON: {exc}"
        raise fail(msg) from None
    return instances_of(document, where)


def cell_value(text: str | None, kind: str | None) -> Scalar:
    """A CSV cell as the JSON value its feature's ``kind`` needs.

    Empty is null. A ``string`` feature keeps its text, a ``boolean`` one reads
    ``true``/``false``/``1``/``0``/``yes``/``no``; numbers (and cells of unknown
    features) become ints or floats when they read as such, else stay text, so
    that the server names the offending value.
    """
    if text is None or text == "":
        return None
    if kind == "string":
        return text
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        return False if lowered in _FALSE else text
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            continue
    return text


def csv_records(
    text: str, types: Mapping[str, str], where: str
) -> list[dict[str, Scalar]]:
    """The rows of a CSV text (with a header) as records typed by ``types``."""
    reader = csv.DictReader(io.StringIO(text))
    records: list[dict[str, Scalar]] = []
    try:
        for row in reader:
            if None in row:
                msg = f"{where}: row {reader.line_num} has more cells than the header"
                raise fail(msg)
            records.append(
                {
                    name: cell_value(value, types.get(name))
                    for name, value in row.items()
                }
            )
    except csv.Error as exc:
        msg = f"{where}: not a CSV file ({exc})"
        raise fail(msg) from None
    if not records:
        msg = f"{where} has no rows under its header"
        raise fail(msg)
    return records


def _from_file(
    path: Path, feature_types: Callable[[], Mapping[str, str]]
) -> list[Instance]:
    suffix = path.suffix.lower()
    if suffix not in {".json", ".csv"}:
        msg = f"--file {path} must be a .json or a .csv file"
        raise fail(msg)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror}"
        raise fail(msg) from None
    except UnicodeDecodeError:
        msg = f"{path} is not UTF-8 text"
        raise fail(msg) from None
    if suffix == ".json":
        return _from_json(text, str(path))
    return list(csv_records(text, feature_types(), str(path)))


def _feature_types(
    client: Client, model: str, version: int | None, alias: str | None
) -> dict[str, str]:
    """Feature name -> type, from the signature of the version that would answer."""
    if version is None:
        version = client.models.alias(model, alias or DEFAULT_ALIAS).version
    signature = client.models.version(model, version).signature
    return {
        str(entry["name"]): str(entry.get("type"))
        for entry in signature
        if isinstance(entry.get("name"), str)
    }


def _label(value: Scalar) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _show(result: Prediction) -> None:
    typer.echo(f"{result.model} v{result.version} (prediction {result.prediction_id})")
    top = result.top_probabilities
    table = Table("#", "prediction", *(() if top is None else ("probability",)))
    for index, value in enumerate(result.predictions):
        cells = [str(index), _label(value)]
        if top is not None:
            cells.append(f"{top[index]:.4f}" if index < len(top) else "")
        add_row(table, *cells)
    Console().print(table)


@talks_to_server
def predict(  # noqa: PLR0913 - the prediction's options, keyword-only
    model: Annotated[str, typer.Argument(help="The registered model.")],
    *,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="This version.")
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option(
            "--alias", help="The version this alias serves (default: production)."
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help=f"The instances: {_SHAPE}."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="A .json file of instances, or a .csv file."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="A routing key: the same key, the same version."),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score instances with MODEL: one prediction (and top probability) per row."""
    if version is not None and alias is not None:
        msg = "give --version or --alias, not both"
        raise fail(msg)
    if (data is None) == (file is None):
        msg = "give the instances with --data or with --file (one of them)"
        raise fail(msg)
    given = [] if data is None else _from_json(data, "--data")  # before any call
    with Client(url, api_key) as client:
        instances = (
            given
            if file is None
            else _from_file(file, lambda: _feature_types(client, model, version, alias))
        )
        result = client.models.predict(
            model, instances, version=version, alias=alias, key=key
        )
    if as_json:
        print_json(result)
    else:
        _show(result)
