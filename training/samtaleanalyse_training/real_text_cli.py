"""`samtaleanalyse evaluate-real-text`: the command of ``real_text.py`` (registered by ``commands.py``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .external.ibm_twitter import HELDOUT, SPLIT_SHARES

PARTS = (*(name for name, _ in SPLIT_SHARES), HELDOUT)  # train, dev, test, heldout


def register(app: typer.Typer) -> None:
    @app.command("evaluate-real-text", epilog="Example:\n\n  samtaleanalyse evaluate-real-text --model models/turns-e5-qat "
                 "--part dev\n\n  samtaleanalyse evaluate-real-text --model models/turns-e5-qat --part train --part dev "
                 "--part test --markdown benchmarks/results/real_text.md")
    def evaluate_real_text_cmd(
            model: Path = typer.Option(..., "--model", help="Model folder."),
            part: list[str] = typer.Option([], "--part", help="train, dev or test part of the labelled dev.json "
                                           "threads, or heldout (the labelled test.json threads, never trained on); "
                                           "repeatable; default dev. Look at test and heldout once per model."),
            labels: list[Path] = typer.Option([], "--labels", help="Label files (default data/annotated/external/"
                                              "*.pass_a.jsonl)."),
            source: Optional[Path] = typer.Option(None, "--source", help="dev.json of ibm_twitter_customer_care "
                                                  "(default ../shared/external/ibm_twitter_customer_care/dev.json)."),
            heldout_source: Optional[Path] = typer.Option(None, "--heldout-source", help="test.json of the same "
                                                          "data set (default beside dev.json)."),
            rules: list[Path] = typer.Option([], "--rules", help="Team rules file(s), as for score."),
            markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Also write the tables here."),
            as_json: bool = typer.Option(False, "--json")) -> None:
        """Attitude, behaviours and findings on labelled real Twitter support threads, per part, language and channel."""
        from samtaleanalyse.classify.loading import load_classifier
        from samtaleanalyse.coaching.config import load_config

        from .real_text import evaluate_real_text, markdown, summary_rows, twitter_conversations

        parts = part or ["dev"]
        for p in parts:
            if p not in PARTS:
                raise typer.BadParameter(f"{p!r}: one of {', '.join(PARTS)}", param_hint="--part")
        try:
            convs = twitter_conversations(labels or None, source, heldout_source, heldout=HELDOUT in parts)
        except FileNotFoundError as exc:
            typer.echo(f"error: {exc} (the texts are read from ../shared/external; set SAMTALEANALYSE_SHARED or "
                       "--source)", err=True)
            raise typer.Exit(2)
        results = evaluate_real_text(load_classifier(model), convs, parts, load_config(*rules))
        if markdown_out is not None:
            command = "samtaleanalyse evaluate-real-text --model " + str(model) + "".join(f" --part {p}" for p in parts)
            markdown_out.parent.mkdir(parents=True, exist_ok=True)
            markdown_out.write_text(markdown(results, str(model), command), encoding="utf-8")
        if as_json:
            typer.echo(json.dumps(results, indent=2))
            return
        for row in summary_rows(results):
            typer.echo(row)
        for p, entry in results["parts"].items():
            beh = entry.get("behaviours", {}).get("per_label", {})
            typer.echo(f"{p} behaviours per label: " + ", ".join(f"{l} {v['f1']:.2f} ({v['support']})"
                                                                 for l, v in beh.items() if v["support"]))

    @app.command("agreement-real-text", epilog="Example:\n\n  samtaleanalyse agreement-real-text")
    def agreement_real_text_cmd(
            labels_dir: Optional[Path] = typer.Option(None, "--labels-dir", help="Folder of the label files (default "
                                                      "data/annotated/external)."),
            source: Optional[Path] = typer.Option(None, "--source", help="dev.json (default beside the labels' "
                                                  "source in ../shared/external)."),
            heldout_source: Optional[Path] = typer.Option(None, "--heldout-source", help="test.json.")) -> None:
        """Cohen's kappa between the two blind labelling passes of the real Twitter threads, per labels set."""
        from .real_text import LABELS_DIR, label_agreement

        try:
            table = label_agreement(labels_dir or LABELS_DIR, source, heldout_source)
        except FileNotFoundError as exc:
            typer.echo(f"error: {exc} (the texts are read from ../shared/external; set SAMTALEANALYSE_SHARED or "
                       "--source / --heldout-source)", err=True)
            raise typer.Exit(2)
        for name, rows in table.items():
            typer.echo(f"\n{name}: {int(rows['threads']['n'])} threads labelled twice\n"
                       "| label | Cohen's kappa | raw agreement | labels given (both passes) |\n|---|---|---|---|")
            for label, r in rows.items():
                if label != "threads" and r["n"]:
                    typer.echo(f"| {label} | {r['kappa']:.3f} | {r['agreement']:.3f} | {int(r['n'])} |")
