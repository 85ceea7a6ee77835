"""`samtaleanalyse data ...`: commands for the annotated corpus."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .corpus import (assign_splits, corpus_stats, export_tasks, import_annotations, labelling_config, load_corpus,
                     shortfalls, validate_corpus, write_corpus)
from .corpus.stats import format_markdown

DEFAULT_CORPUS = Path("data/annotated/conversations")

data_app = typer.Typer(no_args_is_help=True, help="Work with the annotated corpus (data/annotated/).")
console = Console(soft_wrap=True, width=200)
_ROOT = typer.Argument(DEFAULT_CORPUS, help="Corpus folder of *.jsonl files, or one file.")


@data_app.command("validate", epilog="Example:\n\n  samtaleanalyse data validate data/annotated/conversations")
def validate_cmd(root: Path = _ROOT,
                 allow_unsplit: bool = typer.Option(False, help="Do not require a split on every conversation."),
                 counts: bool = typer.Option(False, "--counts", help="Also fail when the corpus is below the required counts.")) -> None:
    """Schema, label vocabulary, empty turns, duplicates and near-duplicates across splits."""
    convs, problems = validate_corpus(root, require_split=not allow_unsplit)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        console.print(f"[{'red' if p.severity == 'error' else 'yellow'}]{p}[/]")
    short = shortfalls(corpus_stats(convs)) if counts else []
    for s in short:
        console.print(f"[red]count: {s}[/]")
    console.print(f"{len(convs)} conversations, {len(errors)} errors, {len(problems) - len(errors)} warnings"
                  + (f", {len(short)} counts below target" if counts else ""))
    raise typer.Exit(1 if errors or short else 0)


@data_app.command("stats", epilog="Example:\n\n  samtaleanalyse data stats --markdown > counts.md")
def stats_cmd(root: Path = _ROOT, markdown: bool = typer.Option(False, help="Print Markdown tables (for DATA_CARD.md)."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Counts per language, channel, split, domain and label, and where targets are not met."""
    stats = corpus_stats(load_corpus(root))
    if as_json:
        typer.echo(json.dumps(stats, ensure_ascii=False, indent=2))
        return
    if markdown:
        typer.echo(format_markdown(stats))
        return
    for name, rows in stats.items():
        cols = list(next(iter(rows.values())).keys())
        table = Table(title=name)
        table.add_column("")
        for c in cols:
            table.add_column(c, justify="right")
        for row, vals in rows.items():
            table.add_row(row, *(str(vals[c]) for c in cols))
        console.print(table)
    short = shortfalls(stats)
    console.print("targets met" if not short else "below target:\n  " + "\n  ".join(short))


@data_app.command("split", epilog="Example:\n\n  samtaleanalyse data split --seed 13")
def split_cmd(root: Path = _ROOT, seed: int = typer.Option(13, help="Seed of the split order."),
              reassign: bool = typer.Option(False, help="Move conversations that already have a split (rarely wise: it changes the test set).")) -> None:
    """Give every conversation without one a train/dev/test split (70/15/15 by language and channel)."""
    convs = load_corpus(root)
    before = {c.id: c.split for c in convs}
    new = assign_splits(convs, seed=seed, keep_existing=not reassign)
    write_corpus(new)
    moved = sum(1 for c in new if before[c.id] != c.split)
    console.print(f"{moved} conversations given a split; {len(new) - moved} kept theirs.")


@data_app.command("export-labelstudio",
                  epilog="Example:\n\n  samtaleanalyse data export-labelstudio --ids nb-a-001,sv-b-010 --out tasks.json")
def export_cmd(root: Path = _ROOT, out: Path = typer.Option(..., "--out", help="Tasks JSON to import into Label Studio."),
               ids: Optional[str] = typer.Option(None, help="Comma-separated conversation ids (default: all)."),
               turns_file: Optional[Path] = typer.Option(None, "--turns", help="JSONL of {conversation_id, turn_index} to export only those turns (e.g. the model's uncertain turns)."),
               split: Optional[str] = typer.Option(None, help="Only this split.")) -> None:
    """Export turns as Label Studio tasks (one per turn), current labels as predictions; writes the labelling config beside."""
    convs = load_corpus(root)
    if ids:
        wanted = {i.strip() for i in ids.split(",")}
        convs = [c for c in convs if c.id in wanted]
    if split:
        convs = [c for c in convs if c.split == split]
    only = None
    if turns_file:
        only = {(d["conversation_id"], int(d["turn_index"])) for d in
                (json.loads(l) for l in turns_file.read_text(encoding="utf-8").splitlines() if l.strip())}
    tasks = export_tasks(convs, only)
    out.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    config = out.with_name(out.stem + ".config.xml")
    config.write_text(labelling_config(), encoding="utf-8")
    console.print(f"{len(tasks)} tasks -> {out}; labelling interface -> {config}")


@data_app.command("import-labelstudio", epilog="Example:\n\n  samtaleanalyse data import-labelstudio export.json")
def import_cmd(export: Path = typer.Argument(..., help="Label Studio JSON export of the tasks."),
               root: Path = typer.Option(DEFAULT_CORPUS, "--corpus", help="Corpus to update in place."),
               dry_run: bool = typer.Option(False, help="Report without writing.")) -> None:
    """Apply corrected labels from a Label Studio export back to the corpus files."""
    try:
        tasks = json.loads(export.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        console.print(f"[red]{export}, line {exc.lineno}: broken JSON: {exc.msg}[/]")
        raise typer.Exit(1)
    convs = load_corpus(root)
    new, report = import_annotations(tasks, convs)
    for s in report.skipped:
        console.print(f"[yellow]skipped {s}[/]")
    if not dry_run and report.updated:
        write_corpus(new)
    console.print(f"{report.updated} turns updated, {report.unchanged} unchanged, {len(report.skipped)} skipped"
                  + (" (dry run)" if dry_run else ""))
    raise typer.Exit(1 if report.skipped else 0)


@data_app.command("agreement", epilog="Example:\n\n  samtaleanalyse data agreement data/annotated/conversations data/annotated/agreement/second_annotator.jsonl")
def agreement_cmd(first: Path = typer.Argument(..., help="Corpus (folder or file) with the first labelling."),
                  second: Path = typer.Argument(..., help="File with a second, blind labelling of some of the same conversations."),
                  markdown: bool = typer.Option(False, help="Print a Markdown table.")) -> None:
    """Cohen's kappa per label between two labellings of the same conversations."""
    from .corpus.agreement import agreement

    result = agreement(load_corpus(first), load_corpus(second))
    if markdown:
        typer.echo("| label | Cohen's kappa | raw agreement | labels given (both annotators) |\n|---|---|---|---|")
        for label, r in result.items():
            typer.echo(f"| {label} | {r['kappa']:.2f} | {r['agreement']:.2f} | {int(r['n'])} |")
        return
    table = Table(title="agreement")
    for col in ("label", "kappa", "raw", "n"):
        table.add_column(col)
    for label, r in result.items():
        table.add_row(label, f"{r['kappa']:.2f}", f"{r['agreement']:.2f}", str(int(r["n"])))
    console.print(table)


@data_app.command("findings", epilog="Examples:\n\n  samtaleanalyse data findings --check\n\n"
                                     "  samtaleanalyse data findings --write")
def findings_cmd(root: Path = _ROOT,
                 write: bool = typer.Option(False, "--write", help="Rewrite the corpus files with the derived findings."),
                 check: bool = typer.Option(False, "--check", help="Exit 1 when a stored `findings` field is out of date.")) -> None:
    """Derive each conversation's findings from its gold turn labels with the coaching rules."""
    from .corpus.findings import gold_findings, stale_findings

    convs = load_corpus(root)
    stale = stale_findings(convs)
    counts: Counter[str] = Counter(code for c in convs for code in gold_findings(c))
    for code, n in sorted(counts.items()):
        console.print(f"{code:28s} {n:4d}")
    console.print(f"{len(convs)} conversations, {len(stale)} with out-of-date findings")
    if write and stale:
        changed = {cid for cid, _, _ in stale}
        written = write_corpus([replace(c, findings=gold_findings(c)) if c.id in changed else c for c in convs])
        console.print(f"rewrote {len(written)} file(s)")
    elif check and stale:
        for cid, stored, derived in stale[:20]:
            console.print(f"[red]{cid}: stored {list(stored)}, rules give {list(derived)}[/]")
        console.print("run `samtaleanalyse data findings --write` to update them.")
        raise typer.Exit(1)
