"""A model scored on labelled real text: IBM's Twitter customer-care threads (``samtaleanalyse evaluate-real-text``).

The labels are in ``data/annotated/external/*.pass_a.jsonl`` (by thread and turn, no text); the texts are built
at run time from ``../shared/external/ibm_twitter_customer_care/dev.json`` by ``external/ibm_twitter.py``,
whose ``split_of`` puts each thread in the train, dev or test part. Threads of ``test.json`` (label files
``ibm_twitter_test.*``) are the ``heldout`` part: labelled for evaluation only, never trained or tuned on. Per part, and per language and channel
inside it, this reports attitude macro-F1, behaviours macro-F1 (and per label), and findings from predicted
labels against findings from gold labels (as ``findings_eval`` counts them). Only figures are written out.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

from samtaleanalyse.classify.predict import TurnClassifier, TurnPrediction
from samtaleanalyse.coaching import ISSUE_CODES, STRENGTH_CODES
from samtaleanalyse.coaching.config import CoachingConfig, load_config
from samtaleanalyse.corpus import parse_record
from samtaleanalyse.corpus.model import LabelledConversation

from .data import Example, examples_of
from .evaluate import score_predictions
from .external import ibm_twitter
from .findings_eval import findings_pairs, score_findings
from .metrics import prf

PARTS = (*(name for name, _ in ibm_twitter.SPLIT_SHARES), ibm_twitter.HELDOUT)  # train, dev, test, heldout
LABELS_DIR = Path(__file__).resolve().parents[2] / "data" / "annotated" / "external"
LABELS_GLOB = "*.pass_a.jsonl"


def label_files(folder: str | Path = LABELS_DIR) -> list[Path]:
    files = sorted(Path(folder).glob(LABELS_GLOB))
    if not files:
        raise FileNotFoundError(f"no {LABELS_GLOB} label files in {folder}")
    return files


def twitter_conversations(labels: Sequence[str | Path] | None = None, source: str | Path | None = None,
                          heldout_source: str | Path | None = None, *, heldout: bool = True,
                          ) -> list[LabelledConversation]:
    """The labelled threads as conversations with their part as split: dev.json's (texts from ``source``) by
    ``split_of``, test.json's (label files ``ibm_twitter_test.*``, texts from ``heldout_source``) ``heldout``.
    With ``heldout=False`` test.json is not even read (training asks for its data that way)."""
    by_source: dict[str, dict[str, dict[int, dict[str, Any]]]] = {kind: {} for kind in ibm_twitter.SOURCE_FILES}
    for path in labels if labels is not None else label_files():
        kind = ibm_twitter.source_of(path)
        if heldout or kind != "test":
            by_source[kind].update(ibm_twitter.read_labels(path))
    convs = []
    for kind, by_thread in by_source.items():
        if not by_thread:
            continue
        path = source if kind == "dev" else heldout_source
        path = Path(path) if path is not None else ibm_twitter.SOURCE / ibm_twitter.SOURCE_FILES[kind]
        for thread in ibm_twitter.load_threads(path):
            if thread.session_id in by_thread:
                split = ibm_twitter.split_of(thread) if kind == "dev" else ibm_twitter.HELDOUT
                record = {**thread.to_corpus(by_thread[thread.session_id]), "split": split}
                convs.append(parse_record(record, file=str(path), line=len(convs) + 1))
    return convs


def label_agreement(labels_dir: str | Path = LABELS_DIR, source: str | Path | None = None,
                    heldout_source: str | Path | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """Cohen's kappa between the two labelling passes of each labels set (``<set>.pass_a.jsonl`` against
    ``<set>.pass_b.jsonl``), over the threads both labelled: ``{set: corpus.agreement's table}``."""
    from samtaleanalyse.corpus.agreement import agreement

    out: dict[str, dict[str, dict[str, float]]] = {}
    for second in sorted(Path(labels_dir).glob("*.pass_b.jsonl")):
        first = second.with_name(second.name.replace(".pass_b.", ".pass_a."))
        if not first.is_file():
            continue
        b = twitter_conversations([second], source, heldout_source)
        ids = {c.id for c in b}
        a = [c for c in twitter_conversations([first], source, heldout_source) if c.id in ids]
        out[second.name.split(".pass_b.")[0]] = {"threads": {"n": float(len(b))}, **agreement(a, b)}
    return out


def _findings(pairs: Sequence[tuple[str, set[str], set[str]]]) -> dict[str, Any]:
    """Macro-F1 of findings (as ``evaluate-findings``), micro P/R/F1 over every (conversation, code), and
    P/R/F1 of each code that was found in gold or predicted."""
    table = score_findings(pairs) if pairs else {}
    per_code = {}
    for code in ISSUE_CODES + STRENGTH_CODES:
        tp = sum(code in g and code in p for _, g, p in pairs)
        fp = sum(code not in g and code in p for _, g, p in pairs)
        fn = sum(code in g and code not in p for _, g, p in pairs)
        if tp + fp + fn:
            per_code[code] = prf(tp, fp, fn)
    tp = sum(len(g & p) for _, g, p in pairs)
    fp = sum(len(p - g) for _, g, p in pairs)
    fn = sum(len(g - p) for _, g, p in pairs)
    return {"n": len(pairs), "micro": prf(tp, fp, fn), "all_macro_f1": table.get("all_macro_f1"),
            "issues_macro_f1": table.get("issues_macro_f1"), "strengths_macro_f1": table.get("strengths_macro_f1"),
            "per_code": per_code}


def uncertain_review(classifier: TurnClassifier, convs: Sequence[LabelledConversation],
                     predictions: Sequence[Sequence[TurnPrediction]] | None = None) -> dict[str, Any]:
    """What the ``uncertain`` flag buys on these turns: the share it sends to review, the share of turns whose
    labels are wrong (not exactly the gold attitude or behaviour set), and the share of those it flags.
    ``predictions`` (one list per conversation) when the caller already has them."""
    if predictions is None:
        predictions = classifier.predict([c.to_conversation() for c in convs])
    n = flagged = wrong = caught = 0
    for conv, preds in zip(convs, predictions):
        by = {(p.turn_index, p.task): p for p in preds}
        for t in conv.turns:
            task = "attitude" if t.turn.role == "customer" else "behaviours" if t.turn.role == "agent" else None
            p = by.get((t.turn.index, task))
            if p is None:
                continue
            gold = {t.attitude} if task == "attitude" else set(t.behaviours)
            miss = set(p.labels) != gold
            n, flagged, wrong, caught = n + 1, flagged + p.uncertain, wrong + miss, caught + (miss and p.uncertain)
    return {"turns": n, "review_rate": flagged / n if n else None, "wrong_rate": wrong / n if n else None,
            "wrong_caught": caught / wrong if wrong else None}


def _score(classifier: TurnClassifier, convs: Sequence[LabelledConversation], rows: Sequence[Example],
           pairs: Sequence[tuple[str, set[str], set[str]]],
           predictions: Sequence[Sequence[TurnPrediction]]) -> dict[str, Any]:
    out = {"conversations": len(convs), **score_predictions(classifier.model, rows, classifier.encoder)}
    out["findings"] = _findings(pairs)
    out["uncertain"] = uncertain_review(classifier, convs, predictions)
    return out


def evaluate_real_text(classifier: TurnClassifier, convs: Iterable[LabelledConversation],
                       parts: Sequence[str] = PARTS, config: CoachingConfig | None = None) -> dict[str, Any]:
    """``{"parts": {part: {overall figures..., "groups": {"en/chat": {...}}}}}`` for each of ``parts``."""
    config = config or load_config()
    convs = list(convs)
    out: dict[str, Any] = {"parts": {}}
    for part in parts:
        chosen = [c for c in convs if c.split == part]
        if not chosen:
            continue
        rows = examples_of(chosen)
        pairs = findings_pairs(classifier, chosen, config)
        predictions = classifier.predict([c.to_conversation() for c in chosen])  # once per part, groups slice it
        entry = _score(classifier, chosen, rows, pairs, predictions)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(chosen):
            groups[f"{c.language}/{c.channel}"].append(i)
        entry["groups"] = {}
        for key, idx in sorted(groups.items()):
            ids = {chosen[i].id for i in idx}
            entry["groups"][key] = _score(classifier, [chosen[i] for i in idx],
                                          [r for r in rows if r.conversation_id in ids], [pairs[i] for i in idx],
                                          [predictions[i] for i in idx])
        out["parts"][part] = entry
    return out


def _f(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, (int, float)) else "–"


def summary_rows(results: dict[str, Any]) -> list[str]:
    """One markdown table row per part and per language/channel group."""
    rows = ["| part | group | threads | attitude macro-F1 (turns) | behaviours macro-F1 (turns) | "
            "findings P / R / F1 (micro) | findings macro-F1 | uncertain: review / wrong / wrong caught |",
            "|---|---|---|---|---|---|---|---|"]
    for part, entry in results["parts"].items():
        for group, m in [("all", entry), *entry["groups"].items()]:
            att, beh, fi = m.get("attitude", {}), m.get("behaviours", {}), m["findings"]
            mi, unc = fi["micro"], m.get("uncertain") or {}
            rows.append(f"| {part} | {group} | {m['conversations']} | {_f(att.get('macro_f1'))} ({att.get('n', 0)}) | "
                        f"{_f(beh.get('macro_f1'))} ({beh.get('n', 0)}) | {mi['precision']:.2f} / {mi['recall']:.2f} / "
                        f"{mi['f1']:.2f} | {_f(fi['all_macro_f1'])} | {_pct(unc.get('review_rate'))} / "
                        f"{_pct(unc.get('wrong_rate'))} / {_pct(unc.get('wrong_caught'))} |")
    return rows


def _pct(v: Any) -> str:
    return f"{100 * v:.1f} %" if isinstance(v, (int, float)) else "–"


def label_rows(results: dict[str, Any], task: str) -> list[str]:
    """Per-label F1 (support) of ``task`` per part."""
    parts = list(results["parts"])
    labels = [l for l in next(iter(results["parts"].values())).get(task, {}).get("per_label", {})]
    rows = [f"| {task} label | " + " | ".join(parts) + " |", "|---|" + "---|" * len(parts)]
    for label in labels:
        cells = []
        for part in parts:
            v = results["parts"][part].get(task, {}).get("per_label", {}).get(label)
            if v and not v["support"] and task == "behaviours":
                cells.append("– (0)")  # absent from the gold labels: not in the behaviours macro-F1
            else:
                cells.append(f"{v['f1']:.2f} ({v['support']})" if v else "–")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def findings_rows(results: dict[str, Any]) -> list[str]:
    parts = list(results["parts"])
    codes = [c for c in ISSUE_CODES + STRENGTH_CODES
             if any(c in results["parts"][p]["findings"]["per_code"] for p in parts)]
    rows = ["| finding | " + " | ".join(f"{p} P / R / F1 (n)" for p in parts) + " |", "|---|" + "---|" * len(parts)]
    for code in codes:
        cells = []
        for part in parts:
            v = results["parts"][part]["findings"]["per_code"].get(code)
            cells.append(f"{v['precision']:.2f} / {v['recall']:.2f} / {v['f1']:.2f} ({v['support']})" if v else "–")
        rows.append(f"| {code} | " + " | ".join(cells) + " |")
    return rows


def _absent_note(results: dict[str, Any]) -> list[str]:
    """Which attitudes a part has no gold turn of: each still counts 0 in that part's attitude macro-F1."""
    notes = []
    for part, entry in results["parts"].items():
        absent = [l for l, v in entry.get("attitude", {}).get("per_label", {}).items() if not v["support"]]
        if absent:
            notes.append(f"{part}: {', '.join(absent)}")
    if not notes:
        return []
    return ["Attitudes without a gold turn in a part, each counting 0 in its attitude macro-F1 (so the figure "
            "is capped below 1): " + "; ".join(notes) + ". The real threads are mostly neutral; the attitude "
            "figures rest on few hostile, sceptical and loyal turns (see the per-label table).", ""]


def markdown(results: dict[str, Any], model: str, command: str) -> str:
    """benchmarks/results/real_text.md: the figures, how they were made, and what they cover."""
    lines = [f"# Real text: `{model}` on the labelled IBM Twitter customer-care threads", "",
             f"Made by `{command}`.", "",
             "Labels: `data/annotated/external/*.pass_a.jsonl` (pass A); texts built at run time from "
             "`../shared/external/ibm_twitter_customer_care/dev.json` (Apache-2.0); parts by thread "
             "(`external/ibm_twitter.py: split_of`); the `heldout` part is threads of the same folder's "
             "`test.json`, labelled for evaluation only (never trained or tuned on). Every thread is English chat, so the language/channel "
             "breakdown has one group. Attitude macro-F1 averages all four attitudes, those absent from a part "
             "included (as `evaluate` counts them); behaviours and findings macro-F1 average the labels present "
             "in the gold labels. Findings: from predicted turn labels against from gold labels, every rule "
             "enabled, each rule's `min_confidence` of the shipped rules.toml applied (as `evaluate-findings`). "
             "Uncertain: the share of turns the `uncertain` flag sends to review, the share whose labels are wrong "
             "(not exactly the gold attitude or behaviour set), and the share of those the flag catches.",
             "", "## Summary", "", *summary_rows(results), "", *_absent_note(results),
             "## Attitude per label (F1, gold turns)", "",
             *label_rows(results, "attitude"), "", "## Behaviours per label (F1, gold turns; – where a label has no gold turn)", "",
             *label_rows(results, "behaviours"), "", "## Findings per code", "", *findings_rows(results), ""]
    return "\n".join(lines)
