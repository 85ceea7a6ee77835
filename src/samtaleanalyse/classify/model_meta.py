"""``metadata.json`` of a model folder, checked field by field into a :class:`ModelSpec`.

The heads' labels are part of the output format, so a model's tasks must be exactly attitude and
behaviours, with exactly the package's labels in the package's order (``labels.py``): a model with
reordered or renamed labels would report a hostile customer as neutral without a word.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._version import __version__
from ..errors import E_MODEL_FIELD, E_MODEL_INCOMPATIBLE, E_MODEL_LABELS, E_MODEL_MISSING, ModelError
from ..labels import ATTITUDES, BEHAVIOURS
from .cues import CueFeatures
from .encoder_kinds import EncoderKind, EncoderSpec, kind_of
from .label_rules import RULE_TASKS
from .model_files import (VERSION, Where, json_type, model_file, need_int, need_number, need_object, need_str, need_strings,
                          read_json, shown)

# 2: cue features (lexicon, position, form, overlap) with their own weights ``<task>__coef_extra``.
FORMAT_VERSION = 2
TASK_ROLES = {"attitude": "customer", "behaviours": "agent"}
TASK_LABELS = {"attitude": ATTITUDES, "behaviours": BEHAVIOURS}
MULTI_LABEL = {"attitude": False, "behaviours": True}
# ``uncertain``: attitude, the top probability below which a turn is uncertain; behaviours, the distance
# to a threshold within which it is.
UNCERTAIN_RANGE = {"attitude": (0.0, 1.0), "behaviours": (0.0, 0.5)}
# how a behaviour's distance to its threshold is measured (classify.predict.near_threshold)
UNCERTAIN_SCALES = ("probability", "logit")
# Training tunes it over 0.5..3; far outside, scores divided by it overflow or say nothing.
TEMPERATURE_RANGE = (0.01, 100.0)
MAX_NGRAM = 16
MAX_FEATURES = 2_000_000
RETRAIN = "retrain the model (`samtaleanalyse train --config training/configs/default.toml`)"
HINT_FIELD = f"restore metadata.json from the model folder as it was made, or {RETRAIN}."
HINT_LABELS = ("labels are part of the output format and the heads' weights follow their order: restore "
               f"metadata.json from the model folder as it was made, or {RETRAIN}.")


@dataclass(frozen=True)
class TaskSpec:
    task: str
    labels: tuple[str, ...]
    multi_label: bool
    thresholds: np.ndarray    # (k,), one per label (0.5 for a single-label head, which does not use them)
    temperature: float


@dataclass(frozen=True)
class ModelSpec:
    """A model folder whose metadata (and its encoder's files) checked out; the weights are read later."""

    folder: Path              # as given
    root: Path                # resolved: every file of the model lies below it
    meta: Mapping[str, Any]
    kind: EncoderKind
    encoder: EncoderSpec
    tasks: Mapping[str, TaskSpec]
    n_min: int
    n_max: int
    n_features: int
    cues: CueFeatures | None

    @property
    def where(self) -> Where:
        return Where(self.folder / "metadata.json")


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".")[:3] if p.isdigit())


def read_spec(folder: str | Path, *, missing_hint: str | None = None) -> ModelSpec:
    """Check a model folder's metadata.json, and its encoder's files, without reading its weights."""
    folder = Path(folder)
    if not folder.is_dir() or not (folder / "metadata.json").exists():
        raise _missing(folder, missing_hint)
    root = folder.resolve()
    where = Where(folder / "metadata.json")
    path = model_file(root, "metadata.json", where.file)
    meta = read_json(path, where)
    if not isinstance(meta, dict):
        raise where.fail(f"holds {json_type(meta)} at the top level; expected an object.", code=E_MODEL_FIELD,
                         hint=HINT_FIELD)
    _check_versions(meta, folder, where)
    enc_where = where.at("encoder")
    entry = need_object(meta.get("encoder"), enc_where)
    kind = kind_of(entry, enc_where)
    tasks = _check_tasks(meta.get("tasks"), where.at("tasks"))
    lex = need_object(meta.get("lexical"), where.at("lexical"))
    n_min = need_int(lex.get("n_min"), where.at("lexical", "n_min"), 1, MAX_NGRAM)
    n_max = need_int(lex.get("n_max"), where.at("lexical", "n_max"), n_min, MAX_NGRAM)
    n_features = need_int(lex.get("n_features"), where.at("lexical", "n_features"), 0, MAX_FEATURES)
    cues = _check_cues(meta.get("cues"), where.at("cues"))
    for key in ("name", "version"):
        if key in meta:
            need_str(meta[key], where.at(key), max_len=200)
    # Last: the encoder's files (hashes) cost the most to check.
    encoder = kind.check(entry, folder, root, enc_where)
    return ModelSpec(folder, root, meta, kind, encoder, tasks, n_min, n_max, n_features, cues)


def _missing(folder: Path, hint: str | None) -> ModelError:
    return ModelError(f"no model at {folder} (metadata.json is missing).", code=E_MODEL_MISSING,
                      file=str(folder / "metadata.json"),
                      hint=hint or "train one with `samtaleanalyse train --config training/configs/default.toml`, "
                                   "or pass --model with a model folder.")


def _check_versions(meta: Mapping[str, Any], folder: Path, where: Where) -> None:
    fmt = meta.get("format_version")
    if type(fmt) is not int or fmt != FORMAT_VERSION:
        older = type(fmt) is int and fmt < FORMAT_VERSION
        raise where.at("format_version").fail(
            f"{folder} has model format {fmt!r}; this samtaleanalyse {__version__} reads format {FORMAT_VERSION}"
            + (" (format 2 added cue features, which older models lack)." if older else "."),
            code=E_MODEL_INCOMPATIBLE,
            hint="retrain it with `samtaleanalyse train --config training/configs/default.toml`"
                 if older else "use the samtaleanalyse version the model was made with, or retrain it.")
    if meta.get("samtaleanalyse") is None:
        return
    rng = need_object(meta["samtaleanalyse"], where.at("samtaleanalyse"))
    bounds = []
    for key, default in (("min", "0"), ("below", "999")):
        value = rng.get(key, default)
        if not isinstance(value, str) or not VERSION.fullmatch(value):
            raise where.at("samtaleanalyse", key).fail(f"is {shown(value)}; expected a version such as \"0.1.0\".",
                                                       code=E_MODEL_FIELD, hint=HINT_FIELD)
        bounds.append(version_tuple(value))
    if not bounds[0] <= version_tuple(__version__) < bounds[1]:
        raise where.at("samtaleanalyse").fail(
            f"{folder} works with samtaleanalyse >={rng.get('min')},<{rng.get('below')}; this is {__version__}.",
            code=E_MODEL_INCOMPATIBLE, hint="retrain the model with this version, or install a matching samtaleanalyse.")


def _check_tasks(value: Any, where: Where) -> dict[str, TaskSpec]:
    tasks = need_object(value, where)
    if set(tasks) != set(TASK_LABELS):
        raise where.fail(f"has tasks {sorted(tasks)}; a turn model has exactly {sorted(TASK_LABELS)}.",
                         code=E_MODEL_LABELS, hint=HINT_LABELS)
    return {task: _check_task(task, tasks[task], where.at(task)) for task in TASK_LABELS}


def _check_task(task: str, value: Any, where: Where) -> TaskSpec:
    spec = need_object(value, where)
    expected = TASK_LABELS[task]
    labels = need_strings(spec.get("labels"), where.at("labels"))
    if tuple(labels) != expected:
        if set(labels) == set(expected):
            problem = f"{labels} are this package's {task} labels in another order; expected {list(expected)}."
        else:
            unknown, lacking = sorted(set(labels) - set(expected)), sorted(set(expected) - set(labels))
            problem = (f"{shown(labels, 200)} are not this package's {task} labels (unknown: {unknown}, missing: "
                       f"{lacking}); expected {list(expected)} in this order.")
        raise where.at("labels").fail(problem, code=E_MODEL_LABELS, hint=HINT_LABELS)
    multi = spec.get("multi_label")
    if multi is not MULTI_LABEL[task]:
        raise where.at("multi_label").fail(
            f"is {shown(multi)}; the {task} head is {'multi-label (true)' if MULTI_LABEL[task] else 'single-label (false)'}.",
            code=E_MODEL_FIELD, hint=HINT_FIELD)
    if "role" in spec and spec["role"] != TASK_ROLES[task]:
        raise where.at("role").fail(f"is {shown(spec['role'])}; the {task} head reads {TASK_ROLES[task]} turns.",
                                    code=E_MODEL_FIELD, hint=HINT_FIELD)
    temperature = need_number(spec.get("temperature", 1.0), where.at("temperature"), *TEMPERATURE_RANGE)
    if "uncertain" in spec:
        need_number(spec["uncertain"], where.at("uncertain"), *UNCERTAIN_RANGE[task])
    if "uncertain_scale" in spec and (spec["uncertain_scale"] not in UNCERTAIN_SCALES or not MULTI_LABEL[task]):
        raise where.at("uncertain_scale").fail(
            f"is {shown(spec['uncertain_scale'])}; expected one of {', '.join(UNCERTAIN_SCALES)}, and only for the "
            "multi-label behaviours head (attitude's flag is its top probability).", code=E_MODEL_FIELD, hint=HINT_FIELD)
    if "label_rules" in spec:
        rules = need_strings(spec["label_rules"], where.at("label_rules"))
        wrong = [r for r in rules if RULE_TASKS.get(r) != task]
        if wrong:
            raise where.at("label_rules").fail(
                f"names {shown(wrong)}; the {task} head's rules are {[r for r, t in RULE_TASKS.items() if t == task]}.",
                code=E_MODEL_FIELD, hint=HINT_FIELD)
    thresholds = np.full(len(expected), 0.5)
    if MULTI_LABEL[task] or "thresholds" in spec:
        table = need_object(spec.get("thresholds"), where.at("thresholds"))
        if set(table) != set(expected):
            unknown, lacking = sorted(set(table) - set(expected)), sorted(set(expected) - set(table))
            raise where.at("thresholds").fail(f"names labels {unknown} that the head lacks and lacks {lacking}.",
                                              code=E_MODEL_LABELS, hint=HINT_LABELS)
        thresholds = np.array([need_number(table[l], where.at("thresholds", l), 0.0, 1.0) for l in expected])
    return TaskSpec(task, expected, MULTI_LABEL[task], thresholds, temperature)


def _check_cues(value: Any, where: Where) -> CueFeatures | None:
    if value is None or value == {}:
        return None
    spec = need_object(value, where)
    need_strings(spec.get("blocks", []), where.at("blocks"))
    lexicon = need_object(spec.get("lexicon", {}), where.at("lexicon"))
    for cat, terms in lexicon.items():
        need_strings(terms, where.at("lexicon", cat))
    names = None if spec.get("names") is None else need_strings(spec["names"], where.at("names"))
    try:
        cues = CueFeatures(spec)
    except (ValueError, TypeError, AttributeError) as exc:
        raise where.fail(f"are not valid cue features ({exc}).", code=E_MODEL_FIELD, hint=HINT_FIELD) from None
    if names is not None and names != cues.names:
        raise where.at("names").fail("the model's cue features differ from those this samtaleanalyse computes.",
                                     code=E_MODEL_INCOMPATIBLE,
                                     hint="use the samtaleanalyse version the model was made with, or retrain it.")
    return cues
