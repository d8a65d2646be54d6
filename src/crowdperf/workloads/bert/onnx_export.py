"""Build the BERT-for-QA ONNX graph straight from weights with ``onnx.helper`` (no torch needed).

The graph is BERT-Large's as in MLPerf's fp32 ``model.onnx``: inputs ``input_ids``, ``input_mask``,
``segment_ids`` (int64, [batch, seq]); outputs ``output_start_logits`` and ``output_end_logits``
(float32, [batch, seq]); both axes dynamic so the harness can trim padding per batch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from crowdperf.atomic import atomic_path
from crowdperf.workloads.bert.model_config import BertModelConfig

OPSET = 17  # LayerNormalization is an ONNX op from 17 on
# the graph's layout, in the generated file's name: bump it when the nodes change (cached files
# of an older layout are then never reused). 2: embeddings, mask, attention scale and GELU in the
# shapes onnxruntime's transformer fusions match (HuggingFace's export)
GRAPH_LAYOUT = 2
INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")
OUTPUT_NAMES = ("output_start_logits", "output_end_logits")


class _GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def param(self, name: str, transpose: bool = False) -> str:
        value = self.weights[name]
        return self.const(
            name + (".T" if transpose else ""), np.ascontiguousarray(value.T if transpose else value)
        )

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        # torch Linear: y = x W^T + b; W stored (out, in)
        return self.op(
            "Add", self.op("MatMul", x, self.param(prefix + ".weight", True)), self.param(prefix + ".bias")
        )

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        return self.op(
            "LayerNormalization", x, self.param(prefix + ".weight"), self.param(prefix + ".bias"),
            axis=-1, epsilon=eps,
        )  # fmt: skip


def build_model(cfg: BertModelConfig, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = _GraphBuilder(weights)
    e = "bert.embeddings."
    # embeddings: word + position + token type, then LayerNorm      (batch, seq, hidden)
    ids_shape = g.op("Shape", "input_ids")
    seq_len = g.op("Gather", ids_shape, g.const("one_i64", np.array(1, np.int64)), axis=0)
    positions = g.op("Range", g.const("zero_i64", np.array(0, np.int64)), seq_len, "one_i64")  # (seq,)
    # (batch, seq) like input_ids: the shape onnxruntime's EmbedLayerNormalization fusion matches
    positions = g.op("Unsqueeze", positions, g.const("axes_0", np.array([0], np.int64)))
    positions = g.op("Expand", positions, ids_shape)
    x = g.op(
        "Add",
        g.op("Add", g.op("Gather", g.param(e + "word_embeddings.weight"), "input_ids"),
             g.op("Gather", g.param(e + "position_embeddings.weight"), positions)),
        g.op("Gather", g.param(e + "token_type_embeddings.weight"), "segment_ids"),
    )  # fmt: skip
    x = g.layer_norm(x, e + "LayerNorm", cfg.layer_norm_eps)
    # additive attention mask: 0 where real, -10000 where padding    (batch, 1, 1, seq)
    # (Unsqueeze, Unsqueeze, Cast, Sub, Mul: the order onnxruntime's Attention fusion matches)
    mask = g.op("Unsqueeze", g.op("Unsqueeze", "input_mask", g.const("axes_1", np.array([1], np.int64))),
                g.const("axes_2", np.array([2], np.int64)))  # fmt: skip
    mask = g.op("Cast", mask, to=TensorProto.FLOAT)
    mask = g.op("Mul", g.op("Sub", g.const("one_f", np.array(1.0, np.float32)), mask),
                g.const("neg_10k", np.array(-10000.0, np.float32)))  # fmt: skip
    heads_shape = g.const("heads_shape", np.array([0, 0, cfg.heads, cfg.head_dim], np.int64))
    hidden_shape = g.const("hidden_shape", np.array([0, 0, cfg.hidden], np.int64))
    # scores / sqrt(head_dim) with Div, as HuggingFace's export: onnxruntime's Attention fusion
    # would take a Mul by 1/sqrt(head_dim) for the mask's Mul
    sqrt_head_dim = g.const("attn_sqrt_head_dim", np.array(math.sqrt(cfg.head_dim), np.float32))
    half, one = g.const("half", np.array(0.5, np.float32)), "one_f"
    inv_sqrt2 = g.const("inv_sqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))
    for n in range(cfg.layers):
        p = f"bert.encoder.layer.{n}."

        def heads(name: str, perm: list[int], x: str = x, p: str = p) -> str:
            t = g.op("Reshape", g.linear(x, p + f"attention.self.{name}"), heads_shape)
            return g.op("Transpose", t, perm=perm)

        q = heads("query", [0, 2, 1, 3])  # (batch, heads, seq, head_dim)
        k = heads("key", [0, 2, 3, 1])  # (batch, heads, head_dim, seq)
        v = heads("value", [0, 2, 1, 3])
        scores = g.op("Add", g.op("Div", g.op("MatMul", q, k), sqrt_head_dim), mask)  # (b, heads, seq, seq)
        ctx = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        ctx = g.op("Reshape", g.op("Transpose", ctx, perm=[0, 2, 1, 3]), hidden_shape)
        x1 = g.layer_norm(g.op("Add", g.linear(ctx, p + "attention.output.dense"), x),
                          p + "attention.output.LayerNorm", cfg.layer_norm_eps)  # fmt: skip
        inter = g.linear(x1, p + "intermediate.dense")
        # exact GELU: x ((1 + erf(x / sqrt 2)) 0.5), as BERT's "gelu"; this order is the one
        # onnxruntime's Gelu fusion matches (x 0.5 is exact, so it equals 0.5 x (1 + erf))
        erf = g.op("Erf", g.op("Mul", inter, inv_sqrt2))
        gelu = g.op("Mul", inter, g.op("Mul", g.op("Add", erf, one), half))
        x = g.layer_norm(g.op("Add", g.linear(gelu, p + "output.dense"), x1),
                         p + "output.LayerNorm", cfg.layer_norm_eps)  # fmt: skip
    logits = g.linear(x, "qa_outputs")  # (batch, seq, 2)
    axis2 = g.const("axis_2", np.array([2], np.int64))
    split = helper.make_node("Split", [logits, g.const("split_1_1", np.array([1, 1], np.int64))],
                             ["start_3d", "end_3d"], axis=2)  # fmt: skip
    g.nodes.append(split)
    g.nodes.append(helper.make_node("Squeeze", ["start_3d", axis2], [OUTPUT_NAMES[0]]))
    g.nodes.append(helper.make_node("Squeeze", ["end_3d", axis2], [OUTPUT_NAMES[1]]))
    dims = ["batch", "seq"]
    graph = helper.make_graph(
        g.nodes,
        "bert_for_question_answering",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in INPUT_NAMES],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n in OUTPUT_NAMES],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="crowdperf"
    )
    model.ir_version = 8
    return model


def export_onnx(cfg: BertModelConfig, weights: dict[str, np.ndarray], path: Path) -> Path:
    """Write the model to ``path`` (temp name, then rename); weights over 2 GB go to a data file."""
    model = build_model(cfg, weights)
    onnx.checker.check_model(model) if model.ByteSize() < 2**31 - 1 else None
    with atomic_path(path) as tmp:
        onnx.save_model(model, str(tmp))
    return path
