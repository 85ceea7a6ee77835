"""A saved turn model is a folder of data, never code.

    models/<name>/metadata.json    format version, tasks, labels, thresholds, encoder, cues (blocks and
                                   lexicon of the cue features), data, metrics
    models/<name>/weights.npz      numpy arrays, loaded with allow_pickle=False
    models/<name>/vocabulary.json  the character n-grams of the lexical features
    models/<name>/README.md        the model card

Loading checks every file before it builds anything (metadata fields and labels, paths, sizes, array
shapes and values, the encoder's hashes: model_meta.py, encoder_kinds.py, model_files.py), and says
which file and field does not fit and what to do.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._version import __version__
from ..errors import E_MODEL_FIELD, E_MODEL_UNREADABLE, E_MODEL_WEIGHTS
from .cues import CueFeatures
from .encoder import ENCODER_DIM, ENCODER_NAME
from .heads import LinearHead
from .lexical import CharNgramVectorizer
from .model_files import MAX_VOCABULARY_BYTES, Where, model_file, need_strings, npz_headers, read_arrays, read_json
from .model_meta import FORMAT_VERSION, TASK_ROLES, ModelSpec, read_spec, version_tuple


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

    @property
    def text_normalisation(self) -> int:
        """The version of ``text.normalise`` the heads were fitted on (1 when not recorded): from 2 people's
        names read as ``[name]``, from 3 polite forms of address as plain ones, from 4 nynorsk word forms as
        bokmål, from 5 names mentioned inside a sentence too. A model reads text the way it was trained on, so
        that an older model keeps its figures."""
        version = str(self.metadata.get("training", {}).get("text_normalisation", "1"))
        return int(version) if version.isdigit() else 1

    def uncertainty(self, task: str) -> float:
        return float(self.metadata.get("tasks", {}).get(task, {}).get("uncertain", 0.1 if task == "behaviours" else 0.55))

    def label_rules(self, task: str) -> tuple[str, ...]:
        """The guideline rules ``task``'s labels pass (``label_rules.py``); none for models before 0.10.3."""
        return tuple(self.metadata.get("tasks", {}).get(task, {}).get("label_rules", ()))

    def uncertainty_scale(self, task: str) -> str:
        """How a multi-label head's ``uncertain`` margin is measured: "probability" (within the margin of a
        threshold; models before 0.7), or "logit" (within the log-odds distance the margin has at 0.5)."""
        return str(self.metadata.get("tasks", {}).get(task, {}).get("uncertain_scale", "probability"))


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
    major, minor, *_ = (*version_tuple(version), 0, 0)
    return f"{major}.{minor + 1}.0"


# Trained weights are below 10 (turns-e5-lex: 7.6 at most); this bound keeps every score finite.
MAX_WEIGHT = 1e4


def load_model(folder: str | Path, *, encoder_version: str | None = None) -> TurnModel:
    """Load a model folder after checking every file of it (model_meta.py, model_files.py): its metadata,
    its encoder's files and hashes, its vocabulary and its arrays. With ``encoder_version``, the encoder that
    will feed the heads must be the one they were fitted on."""
    return read_model(read_spec(folder), encoder_version=encoder_version)


def read_model(spec: ModelSpec, *, encoder_version: str | None = None) -> TurnModel:
    """The heads and vectorizer of a model folder whose metadata checked out (``model_meta.read_spec``)."""
    if encoder_version is not None:
        spec.kind.check_version(spec.encoder, encoder_version, spec.where.at("encoder"))
    vocab = _read_vocabulary(spec)
    data = _read_weights(spec)
    vectorizer = CharNgramVectorizer.from_state(vocab, data["lexical_idf"], spec.n_min, spec.n_max)
    heads: dict[str, LinearHead] = {}
    for task, t in spec.tasks.items():
        heads[task] = LinearHead(task=task, labels=t.labels, multi_label=t.multi_label,
                                 coef_dense=data[f"{task}__coef_dense"], coef_lex=data[f"{task}__coef_lex"],
                                 intercept=data[f"{task}__intercept"], thresholds=t.thresholds,
                                 temperature=t.temperature,
                                 coef_extra=data.get(f"{task}__coef_extra",
                                                     np.zeros((len(t.labels), 0), dtype=np.float32)))
    return TurnModel(heads=heads, vectorizer=vectorizer, metadata=spec.meta, cues=spec.cues)


def _read_vocabulary(spec: ModelSpec) -> list[str]:
    where = Where(spec.folder / "vocabulary.json")
    vocab = need_strings(read_json(model_file(spec.root, "vocabulary.json", where.file), where, MAX_VOCABULARY_BYTES),
                         where)
    if len(vocab) != spec.n_features:
        raise where.fail(f"has {len(vocab)} n-grams; {spec.where.file} field /lexical/n_features says {spec.n_features}.",
                         code=E_MODEL_WEIGHTS)
    lengths = list(map(len, vocab))
    if lengths and not spec.n_min <= min(lengths) <= max(lengths) <= spec.n_max:
        i = next(i for i, n in enumerate(lengths) if not spec.n_min <= n <= spec.n_max)
        raise where.at(i).fail(f"is {vocab[i]!r}, not a character n-gram of {spec.n_min} to {spec.n_max} characters.",
                               code=E_MODEL_FIELD)
    if len(set(vocab)) != len(vocab):
        first: dict[str, int] = {}
        for i, gram in enumerate(vocab):
            if first.setdefault(gram, i) != i:
                raise where.at(i).fail(f"is {gram!r}, which the vocabulary holds already at {first[gram]}.",
                                       code=E_MODEL_FIELD)
    return vocab


def _expected_arrays(spec: ModelSpec) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    """Each array's shape as the metadata implies it, and the arrays that may be absent."""
    n_cues = spec.cues.dim if spec.cues is not None else 0
    shapes: dict[str, tuple[int, ...]] = {"lexical_idf": (spec.n_features,)}
    for task, t in spec.tasks.items():
        k = len(t.labels)
        shapes.update({f"{task}__coef_dense": (k, 3 * spec.encoder.dim + 1), f"{task}__coef_lex": (k, spec.n_features),
                       f"{task}__intercept": (k,), f"{task}__coef_extra": (k, n_cues)})
    optional = set() if n_cues else {f"{task}__coef_extra" for task in spec.tasks}
    return shapes, optional


def _read_weights(spec: ModelSpec) -> dict[str, np.ndarray]:
    """Every array checked from its header (name, dtype, shape) before it is read, and for finite values after."""
    where = Where(spec.folder / "weights.npz")
    path = model_file(spec.root, "weights.npz", where.file)
    heads = npz_headers(path, where)
    shapes, optional = _expected_arrays(spec)
    unknown, missing = sorted(heads.keys() - shapes.keys()), sorted(shapes.keys() - heads.keys() - optional)
    if unknown:
        raise where.array(unknown[0]).fail(f"is not an array of model format {FORMAT_VERSION} (it has "
                                           f"{', '.join(sorted(shapes))}).", code=E_MODEL_WEIGHTS)
    if missing:
        raise where.array(missing[0]).fail("is missing.", code=E_MODEL_WEIGHTS)
    for name, head in heads.items():
        if head.dtype.kind != "f" or head.dtype.itemsize not in (4, 8):
            raise where.array(name).fail(f"has dtype {head.dtype}; model weights are float32 or float64.",
                                         code=E_MODEL_UNREADABLE)
        if head.shape != shapes[name]:
            raise where.array(name).fail(f"has shape {head.shape}; {spec.where.file} implies {shapes[name]}.",
                                         code=E_MODEL_WEIGHTS)
    data = read_arrays(path, heads, sorted(heads), where)
    for name, arr in data.items():
        finite = np.isfinite(arr)
        if not finite.all():
            first = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise where.array(name).fail(f"holds {int((~finite).sum())} NaN or infinite value(s) (the first at "
                                         f"{first}: {arr[first]}).", code=E_MODEL_WEIGHTS)
        if arr.size and float(np.abs(arr).max()) > MAX_WEIGHT:
            first = tuple(int(i) for i in np.unravel_index(int(np.abs(arr).argmax()), arr.shape))
            raise where.array(name).fail(f"holds {arr[first]:g} at {first}; a trained head's weights stay far below "
                                         f"{MAX_WEIGHT:g} (larger ones overflow the scores).", code=E_MODEL_WEIGHTS)
    if not (data["lexical_idf"] > 0).all():
        raise where.array("lexical_idf").fail("holds an idf of 0 or less; an idf is at least 1.", code=E_MODEL_WEIGHTS)
    return data
