"""Recognise an ONNX ``ModelProto`` and refuse one that reads files when loaded.

An ONNX tensor may keep its data outside the model (``data_location =
EXTERNAL``, with a ``location`` path); a runtime loading such a model reads that
path from its own disk, so an uploaded model could pull any file into its
weights. Models with external data, anywhere in the graph or its subgraphs and
functions, are refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import onnx
from google.protobuf.message import DecodeError

from phantom.registry.formats.errors import UnsafeModel

__all__ = ["onnx_model"]


def _graph_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node: onnx.NodeProto) -> Iterator[onnx.TensorProto]:
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("g"):
            yield from _graph_tensors(attribute.g)
        for graph in attribute.graphs:
            yield from _graph_tensors(graph)


def _tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    yield from _graph_tensors(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _node_tensors(node)


def onnx_model(raw: bytes) -> onnx.ModelProto | None:
    """``raw`` parsed as an ONNX model, or ``None`` if it is not one.

    Raises:
        UnsafeModel: the model keeps tensor data in external files.
    """
    try:
        model = onnx.load_model_from_string(raw)
    except (DecodeError, ValueError, RuntimeError):
        return None
    graph = model.graph
    if model.ir_version <= 0 or not model.HasField("graph"):
        return None
    if not graph.input or not graph.output or not model.opset_import:
        return None
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in _tensors(model)):
        raise UnsafeModel("the ONNX model reads tensor data from external files")
    return model
