"""`samtaleanalyse robustness`: does the judgement hold when what should not matter changes?

For a model on the corpus test split (and the held-out evaluation sets):
1. counterfactual invariance: the flip rate of findings, score and turn labels under each swap of
   swaps.py (names, company names, bokmål -> nynorsk, register), over the conversations a swap changes;
2. calibration: expected calibration error of attitude and behaviour probabilities (calibration.py),
   and a reliability diagram;
3. the ``uncertain`` flag: the share of turns it sends to review, and the share of wrong labels among them;
4. cross-language consistency on the parallel set (the same conversation in nb, nn, da, sv and en) and
   accuracy on the contrast sets, per type and language.
Every table has rows per language and per channel. The classifier is anything with the pipeline's
``predict`` (tests pass a small fake); findings and score come from the shipped coaching rules.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from samtaleanalyse.classify.predict import TurnPrediction
from samtaleanalyse.coaching import Coach
from samtaleanalyse.conversation import CHANNELS, LANGUAGES
from samtaleanalyse.corpus import load_corpus
from samtaleanalyse.corpus.findings import gold_findings
from samtaleanalyse.corpus.model import LabelledConversation
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS
from samtaleanalyse.pipeline import analyse

from .calibration import DEFAULT_BINS, expected_calibration_error, reliability_bins, reliability_svg, top_label
from .swaps import SWAP_TYPES, apply_swap

TARGET_FLIP = 0.01
TARGET_PARALLEL = 0.90


@dataclass(frozen=True)
class Outcome:
    """What the pipeline concluded about one conversation."""

    findings: frozenset[str]
    score: int | None
    predictions: tuple[TurnPrediction, ...]

    def labels(self) -> dict[int, tuple[str, ...]]:
        return {p.turn_index: tuple(sorted(p.labels)) for p in self.predictions}


def run_pipeline(classifier: Any, convs: Sequence[LabelledConversation], coach: Coach | None = None) -> list[Outcome]:
    """Findings (codes the agent would be told), score and turn predictions of each conversation."""
    coach = coach or Coach()
    out = []
    for a in analyse((c.to_conversation() for c in convs), classifier, coach):
        c = a.coaching
        out.append(Outcome(frozenset(f.code for f in c.findings) if c else frozenset(),
                           c.score.value if c else None, a.predictions))
    return out


def groups(convs: Sequence[LabelledConversation]) -> dict[str, list[int]]:
    """Row name -> indices: 'all', then each language and each channel present (the table rows)."""
    rows: dict[str, list[int]] = {"all": list(range(len(convs)))}
    for lang in LANGUAGES:
        idx = [i for i, c in enumerate(convs) if c.language == lang]
        if idx:
            rows[lang] = idx
    for ch in CHANNELS:
        idx = [i for i, c in enumerate(convs) if c.channel == ch]
        if idx:
            rows[ch] = idx
    return rows


def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


# 1. Counterfactual invariance -------------------------------------------------------------------------

def invariance(classifier: Any, convs: Sequence[LabelledConversation], base: Sequence[Outcome],
               swaps: Sequence[str] = SWAP_TYPES, coach: Coach | None = None) -> dict[str, Any]:
    """Per swap type and row: conversations changed, and the share whose findings / score changed, and the
    share of their classified turns whose labels changed. Examples of flips are kept for the report."""
    out: dict[str, Any] = {}
    for swap in swaps:
        changed = [(i, s) for i, s in ((i, apply_swap(c, swap)) for i, c in enumerate(convs)) if s is not convs[i]]
        after = run_pipeline(classifier, [s for _, s in changed], coach)
        per_conv = []
        for (i, _), o in zip(changed, after):
            b = base[i]
            before_labels, after_labels = b.labels(), o.labels()
            turn_flips = sum(before_labels[t] != after_labels.get(t) for t in before_labels)
            per_conv.append({"id": convs[i].id, "findings_flip": b.findings != o.findings,
                             "score_flip": b.score != o.score, "turns": len(before_labels), "turn_flips": turn_flips,
                             "gained": sorted(o.findings - b.findings), "lost": sorted(b.findings - o.findings),
                             "score": [b.score, o.score]})
        rows: dict[str, Any] = {}
        changed_convs = [convs[i] for i, _ in changed]
        for name, idx in groups(changed_convs).items():
            sub = [per_conv[k] for k in idx]
            turns = sum(r["turns"] for r in sub)
            rows[name] = {"n": len(sub), "findings_flip": _share(sum(r["findings_flip"] for r in sub), len(sub)),
                          "score_flip": _share(sum(r["score_flip"] for r in sub), len(sub)),
                          "turn_flip": _share(sum(r["turn_flips"] for r in sub), turns), "turns": turns}
        flips = [r for r in per_conv if r["findings_flip"]]
        codes = Counter(c for r in flips for c in r["gained"] + r["lost"])
        out[swap] = {"rows": rows, "flipped": [r for r in per_conv if r["findings_flip"] or r["score_flip"]],
                     # a finding can cross its rule's min_confidence without any turn label changing
                     "findings_flips_without_label_change": sum(r["turn_flips"] == 0 for r in flips),
                     "codes": dict(codes.most_common())}
    return out


# 2. Calibration and 3. the uncertain flag -----------------------------------------------------------------

@dataclass(frozen=True)
class TurnRecord:
    conv: int
    task: str
    proba: tuple[float, ...]          # in ATTITUDES or BEHAVIOURS order
    gold: tuple[str, ...]
    predicted: tuple[str, ...]
    uncertain: bool

    @property
    def wrong(self) -> bool:
        return tuple(sorted(self.gold)) != tuple(sorted(self.predicted))


def turn_records(convs: Sequence[LabelledConversation], outcomes: Sequence[Outcome]) -> list[TurnRecord]:
    """Each classified turn with a gold label: its probabilities, gold and predicted labels, and flag."""
    out = []
    for ci, (c, o) in enumerate(zip(convs, outcomes)):
        by_turn = {p.turn_index: p for p in o.predictions}
        for lt in c.turns:
            p = by_turn.get(lt.turn.index)
            if p is None:
                continue
            if p.task == "attitude":
                if not lt.attitude:
                    continue
                order, gold = ATTITUDES, (lt.attitude,)
            else:
                order, gold = BEHAVIOURS, tuple(lt.behaviours)
            out.append(TurnRecord(ci, p.task, tuple(float(p.scores.get(l, 0.0)) for l in order), gold,
                                  tuple(p.labels), p.uncertain))
    return out


def _calibration_of(recs: Sequence[TurnRecord], bins: int) -> dict[str, Any]:
    att = [r for r in recs if r.task == "attitude"]
    beh = [r for r in recs if r.task == "behaviours"]
    out: dict[str, Any] = {"attitude_turns": len(att), "behaviour_turns": len(beh)}
    if att:
        conf, correct = top_label(np.array([r.proba for r in att]), [ATTITUDES.index(r.gold[0]) for r in att])
        out["attitude_ece"] = _round(expected_calibration_error(conf, correct, bins))
    if beh:
        P = np.array([r.proba for r in beh])
        Y = np.array([[l in r.gold for l in BEHAVIOURS] for r in beh])
        out["behaviours_ece"] = _round(expected_calibration_error(P.ravel(), Y.ravel(), bins))
        out["per_behaviour"] = {l: _round(expected_calibration_error(P[:, j], Y[:, j], bins))
                                for j, l in enumerate(BEHAVIOURS)}
    return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def calibration(convs: Sequence[LabelledConversation], recs: Sequence[TurnRecord],
                bins: int = DEFAULT_BINS) -> dict[str, Any]:
    rows = {}
    for name, idx in groups(convs).items():
        keep = set(idx)
        rows[name] = _calibration_of([r for r in recs if r.conv in keep], bins)
    return {"bins": bins, "rows": rows}


def diagram(recs: Sequence[TurnRecord], bins: int = DEFAULT_BINS) -> str:
    att = [r for r in recs if r.task == "attitude"]
    beh = [r for r in recs if r.task == "behaviours"]
    curves = {}
    if att:
        conf, correct = top_label(np.array([r.proba for r in att]), [ATTITUDES.index(r.gold[0]) for r in att])
        curves[f"attitude, top label (n={len(att)})"] = reliability_bins(conf, correct, bins)
    if beh:
        P = np.array([r.proba for r in beh])
        Y = np.array([[l in r.gold for l in BEHAVIOURS] for r in beh])
        curves[f"behaviours, every (turn, label) (n={P.size})"] = reliability_bins(P.ravel(), Y.ravel(), bins)
    return reliability_svg(curves, f"Reliability on the test split ({bins} equal-width bins)")


def uncertain_flag(convs: Sequence[LabelledConversation], recs: Sequence[TurnRecord]) -> dict[str, Any]:
    """Per row and task: review rate (share of turns flagged), error rate, the share of wrong turns the
    flag catches, and the share of flagged turns that are wrong."""
    rows = {}
    for name, idx in groups(convs).items():
        keep = set(idx)
        row = {}
        for task in ("all", "attitude", "behaviours"):
            sub = [r for r in recs if r.conv in keep and (task == "all" or r.task == task)]
            wrong = [r for r in sub if r.wrong]
            flagged = [r for r in sub if r.uncertain]
            caught = _share(sum(r.uncertain for r in wrong), len(wrong))
            review = _share(len(flagged), len(sub))
            row[task] = {"turns": len(sub), "review_rate": review,
                         "error_rate": _share(len(wrong), len(sub)), "wrong_caught": caught,
                         "flagged_wrong": _share(sum(r.wrong for r in flagged), len(flagged)),
                         # flagging the same share of turns at random would catch that share of the wrong ones
                         "lift_over_random": round(caught / review, 2) if caught is not None and review else None}
        rows[name] = row
    return {"rows": rows}


# 4. Parallel set and contrast sets ---------------------------------------------------------------------

_LANG_AFFIX = re.compile(r"^(nb|nn|da|sv|en)[-_]|[-_](nb|nn|da|sv|en)$")


def parallel_key(conv: LabelledConversation) -> str:
    """The id shared by the language versions of one conversation: ``parallel_id``, else the id without
    its language prefix or suffix."""
    extra = dict(conv.extra)
    return str(extra.get("parallel_id") or _LANG_AFFIX.sub("", conv.id))


def load_eval(folder: Path) -> list[LabelledConversation]:
    return load_corpus(folder) if folder.is_dir() and any(folder.glob("*.jsonl")) else []


def parallel_consistency(classifier: Any, convs: Sequence[LabelledConversation],
                         coach: Coach | None = None) -> dict[str, Any]:
    """Share of parallel conversations (present in every language of the set) whose findings agree across all
    languages; per language, the share where that language's findings equal the most common set of the
    group; and the spread of scores."""
    outcomes = run_pipeline(classifier, convs, coach)
    by_key: dict[str, dict[str, tuple[LabelledConversation, Outcome]]] = defaultdict(dict)
    for c, o in zip(convs, outcomes):
        by_key[parallel_key(c)][c.language] = (c, o)
    langs = sorted({c.language for c in convs}, key=lambda l: LANGUAGES.index(l) if l in LANGUAGES else 99)
    complete = {k: v for k, v in by_key.items() if set(v) == set(langs)}
    rows: dict[str, Any] = {}

    def summarise(keys: Iterable[str]) -> dict[str, Any]:
        keys = list(keys)
        agree = [len({complete[k][l][1].findings for l in langs}) == 1 for k in keys]
        score_agree = [len({complete[k][l][1].score for l in langs}) == 1 for k in keys]
        row: dict[str, Any] = {"n": len(keys), "findings_agree": _share(sum(agree), len(keys)),
                               "score_agree": _share(sum(score_agree), len(keys))}
        spread = [max(complete[k][l][1].score or 0 for l in langs) - min(complete[k][l][1].score or 0 for l in langs)
                  for k in keys]
        row["mean_score_spread"] = round(float(np.mean(spread)), 2) if spread else None
        for l in langs:
            hits = 0
            for k in keys:
                modal = Counter(complete[k][m][1].findings for m in langs).most_common(1)[0][0]
                hits += complete[k][l][1].findings == modal
            row[f"{l}_with_majority"] = _share(hits, len(keys))
        return row

    rows["all"] = summarise(sorted(complete))
    for ch in CHANNELS:
        keys = [k for k in sorted(complete) if complete[k][langs[0]][0].channel == ch]
        if keys:
            rows[ch] = summarise(keys)
    disagreements = [{"id": k, **{l: sorted(complete[k][l][1].findings) for l in langs},
                      "scores": {l: complete[k][l][1].score for l in langs}}
                     for k in sorted(complete) if len({complete[k][l][1].findings for l in langs}) > 1]
    return {"languages": langs, "incomplete": sorted(set(by_key) - set(complete)), "rows": rows,
            "disagreements": disagreements}


def contrast_info(conv: LabelledConversation) -> dict[str, Any]:
    """The contrast fields of an item: ``contrast: {type, turn, differs, pair, variant}`` (the eval sets'
    layout), or the same keys at the top level."""
    extra = dict(conv.extra)
    info = extra.get("contrast") if isinstance(extra.get("contrast"), dict) else {}
    return {k: info.get(k, extra.get(k)) for k in ("type", "turn", "differs", "pair", "variant")}


def contrast_item_right(conv: LabelledConversation, outcome: Outcome) -> tuple[bool, bool]:
    """(contrast right, exact right) for one item. The contrast is right when, on the item's turn (every
    labelled turn if it names none), what the pair differs in is predicted as gold has it: the attitude
    (``differs: ["attitude"]``), or each named behaviour present exactly where gold has it; an invariance
    pair (``differs: []``) needs the turn's whole gold label set. Exact: the whole label set is gold."""
    info = contrast_info(conv)
    preds = {p.turn_index: set(p.labels) for p in outcome.predictions}
    turns = [lt for lt in conv.turns if lt.turn.role != "system"
             and (info["turn"] is None or lt.turn.index == int(info["turn"]))
             and not (lt.turn.role == "customer" and not lt.attitude)]
    contrast = exact = True
    for lt in turns:
        gold = {lt.attitude} if lt.turn.role == "customer" else set(lt.behaviours)
        pred = preds.get(lt.turn.index, set())
        exact &= pred == gold
        differs = [l for l in (info["differs"] or []) if l != "attitude"]
        if lt.turn.role == "customer" or not differs:
            contrast &= pred == gold
        else:
            contrast &= all((l in pred) == (l in gold) for l in differs)
    return contrast, exact


def contrast_accuracy(classifier: Any, convs: Sequence[LabelledConversation],
                      coach: Coach | None = None) -> dict[str, Any]:
    """Accuracy on the contrast items per type x language, per type, per language and channel; and the share of
    minimal pairs with both variants right."""
    outcomes = run_pipeline(classifier, convs, coach)
    results = []
    for c, o in zip(convs, outcomes):
        info = contrast_info(c)
        right, exact = contrast_item_right(c, o)
        results.append({"type": str(info["type"] or "untyped"), "language": c.language, "channel": c.channel,
                        "right": right, "exact": exact, "pair": info["pair"], "id": c.id,
                        "findings": o.findings == set(gold_findings(c))})
    table: dict[str, dict[str, Any]] = {}
    for t in sorted({r["type"] for r in results}):
        sub = [r for r in results if r["type"] == t]
        pairs: dict[str, list[bool]] = defaultdict(list)
        for r in sub:
            if r["pair"]:
                pairs[r["pair"]].append(r["right"])
        table[t] = {"n": len(sub), "all": _share(sum(r["right"] for r in sub), len(sub)),
                    "exact": _share(sum(r["exact"] for r in sub), len(sub)),
                    "findings": _share(sum(r["findings"] for r in sub), len(sub)),
                    "pairs_both_right": _share(sum(all(v) for v in pairs.values() if len(v) > 1),
                                               sum(len(v) > 1 for v in pairs.values()))}
        for lang in LANGUAGES:
            s = [r for r in sub if r["language"] == lang]
            if s:
                table[t][lang] = _share(sum(r["right"] for r in s), len(s))
    rows = {name: {"n": len(idx), "accuracy": _share(sum(results[i]["right"] for i in idx), len(idx)),
                   "exact": _share(sum(results[i]["exact"] for i in idx), len(idx)),
                   "findings": _share(sum(results[i]["findings"] for i in idx), len(idx))}
            for name, idx in groups(convs).items()}
    return {"per_type": table, "rows": rows, "wrong": [r["id"] for r in results if not r["right"]]}


# The whole run, and the report ------------------------------------------------------------------------

def robustness(classifier: Any, corpus: Path, eval_dir: Path, split: str = "test", bins: int = DEFAULT_BINS,
               swaps: Sequence[str] = SWAP_TYPES, model_name: str = "", limit: int | None = None,
               progress: Callable[[str], None] = lambda s: None) -> tuple[dict[str, Any], str]:
    """Every measurement; returns (results, reliability SVG)."""
    coach = Coach()
    convs = [c for c in load_corpus(corpus) if c.split == split and not c.augmented][:limit]
    progress(f"{len(convs)} {split} conversations")
    base = run_pipeline(classifier, convs, coach)
    recs = turn_records(convs, base)
    results: dict[str, Any] = {"model": model_name, "split": split, "conversations": len(convs),
                               "targets": {"flip": TARGET_FLIP, "parallel_agreement": TARGET_PARALLEL}}
    progress("swaps")
    results["invariance"] = invariance(classifier, convs, base, swaps, coach)
    results["calibration"] = calibration(convs, recs, bins)
    results["uncertain"] = uncertain_flag(convs, recs)
    # the e-mail threads are parallel too (the same three threads in each language, grouped by parallel_id)
    parallel = load_eval(eval_dir / "parallel") + load_eval(eval_dir / "email")
    if parallel:
        progress(f"parallel set: {len(parallel)} conversations")
        results["parallel"] = parallel_consistency(classifier, parallel, coach)
    contrast = load_eval(eval_dir / "contrast")
    if contrast:
        progress(f"contrast sets: {len(contrast)} items")
        results["contrast"] = contrast_accuracy(classifier, contrast, coach)
    return results, diagram(recs, bins)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _columns(tables: Iterable[dict[str, Any]]) -> list[str]:
    """The row names found in any of ``tables``, in the order all, languages, channels."""
    seen = {k for t in tables for k in t}
    return [k for k in ("all", *LANGUAGES, *CHANNELS) if k in seen]


def _wide(title: str, rows: dict[str, dict[str, Any]], cell: Callable[[dict[str, Any]], str]) -> list[str]:
    """A table with one line per entry of ``rows`` and a column per language and channel."""
    cols = _columns(rows.values())
    out = [f"| {title} | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, r in rows.items():
        out.append(f"| {name} | " + " | ".join(cell(r[c]) if c in r else "" for c in cols) + " |")
    return out


def wilson(share: float | None, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95 % Wilson interval of a share observed on ``n`` cases: with 15 conversations, 0 flips still
    allows about 20 %."""
    if share is None or not n:
        return None
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((share * (1 - share) + z * z / (4 * n)) / n) ** 0.5 / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _ci(share: float | None, n: int) -> str:
    w = wilson(share, n)
    return "" if w is None else f" ({100 * w[0]:.0f}–{100 * w[1]:.0f} %)"


def _summary(results: dict[str, Any]) -> list[str]:
    """The headline figures against the issue's targets, with 95 % Wilson intervals where they are shares."""
    flip, agree = results["targets"]["flip"], results["targets"]["parallel_agreement"]
    out = ["## Summary", "", "Shares with their 95 % Wilson interval in brackets.", "",
           "| measure | value | target |", "|---|---:|---:|"]
    for swap, v in results["invariance"].items():
        r = v["rows"].get("all", {})
        if r.get("n"):
            w = wilson(r["findings_flip"], r["n"])
            ok = ("not met" if (r["findings_flip"] or 0) > flip
                  else "met" if w and w[1] <= flip else "met on this sample; too few conversations to show it")
            out.append(f"| findings flip, {swap} (n={r['n']}) | {_pct(r['findings_flip'])}{_ci(r['findings_flip'], r['n'])} | "
                       f"<= {_pct(flip)} ({ok}) |")
    cal = results["calibration"]["rows"]["all"]
    out.append(f"| ECE attitude / behaviours | {_num(cal.get('attitude_ece'))} / {_num(cal.get('behaviours_ece'))} | – |")
    unc = results["uncertain"]["rows"]["all"]["all"]
    out.append(f"| uncertain flag: review rate / wrong labels caught | {_pct(unc['review_rate'])} / "
               f"{_pct(unc['wrong_caught'])} | – |")
    if "parallel" in results:
        a, n = results["parallel"]["rows"]["all"]["findings_agree"], results["parallel"]["rows"]["all"]["n"]
        out.append(f"| parallel set, findings agree in all languages (n={n}) | {_pct(a)}{_ci(a, n)} | >= {_pct(agree)} "
                   f"({'met' if (a or 0) >= agree else 'not met'}) |")
    if "contrast" in results:
        out.append(f"| contrast items right | {_pct(results['contrast']['rows']['all']['accuracy'])} | – |")
    return out + [""]


def markdown(results: dict[str, Any], svg_name: str = "robustness_reliability.svg") -> str:
    """The report: one table per measurement, with a column per language and per channel."""
    lines = [f"# Robustness, fairness and calibration: {results.get('model') or 'model'}", "",
             f"Corpus {results['split']} split, {results['conversations']} conversations. Written by "
             f"`{results.get('command') or 'samtaleanalyse robustness'}` "
             "(training/samtaleanalyse_training/robustness.py). Columns: all, then "
             "each language, then each channel; a blank cell has no conversation the measurement applies to.", ""]
    inv = results["invariance"]
    lines += _summary(results)
    lines += ["## 1. Counterfactual invariance", "",
              "Each swap changes only what it names (tables in training/samtaleanalyse_training/robustness_data/, "
              "tested in tests/test_robustness.py): `names:*` replaces every known first name in the texts "
              "(customer's or agent's, matched from the name lists; lower-case too in call transcripts) by a local or "
              "immigrant, male or female name; `company` replaces company and product names by made-up ones; "
              "`nb_to_nn` replaces common bokmål words by their nynorsk forms (nb conversations only); "
              "`register:*` rewrites formal phrases and pronouns as informal ones or back. Rates are over the "
              "conversations the swap changed (n in the first table); target under "
              f"{_pct(results['targets']['flip'])}.", "",
              "Share of conversations whose findings (the codes the agent is told) change:", ""]
    lines += _wide("swap", {s: v["rows"] for s, v in inv.items()},
                   lambda r: f"{_pct(r['findings_flip'])} ({r['n']})")
    lines += ["", "Share of conversations whose score changes:", ""]
    lines += _wide("swap", {s: v["rows"] for s, v in inv.items()}, lambda r: _pct(r["score_flip"]))
    lines += ["", "Share of classified turns whose labels change:", ""]
    lines += _wide("swap", {s: v["rows"] for s, v in inv.items()}, lambda r: f"{_pct(r['turn_flip'])}")
    lines += ["", "Finding codes that flip most often, and how many findings flips came without any turn label "
              "changing (a finding's confidence crossed its rule's `min_confidence`):", "",
              "| swap | findings flips | without a label change | codes (gained or lost) |", "|---|---:|---:|---|"]
    for s_, v in inv.items():
        n_flips = sum(1 for f in v["flipped"] if f["findings_flip"])
        codes = ", ".join(f"{c} {n}" for c, n in list(v.get("codes", {}).items())[:5])
        lines.append(f"| {s_} | {n_flips} | {v.get('findings_flips_without_label_change', '–')} | {codes or '–'} |")
    flipped = [(s, f) for s, v in inv.items() for f in v["flipped"]]
    if flipped:
        lines += ["", "Conversations whose findings or score changed (findings gained / lost, score):", ""]
        lines += [f"- {s} {f['id']}: +{', '.join(f['gained']) or '–'} / -{', '.join(f['lost']) or '–'}; "
                  f"{f['score'][0]} → {f['score'][1]}" for s, f in flipped[:40]]
        if len(flipped) > 40:
            lines.append(f"- ... and {len(flipped) - 40} more (robustness.json)")
    cal = results["calibration"]
    lines += ["", "## 2. Calibration", "",
              f"Expected calibration error (ECE), {cal['bins']} equal-width bins of the predicted probability: "
              "the sum over bins of (share of predictions in the bin) x |mean probability - observed frequency|. "
              "Attitude: the top label's probability against whether it is the gold label. Behaviours: each "
              "behaviour's probability against whether the gold labels have it, pooled over every (turn, "
              f"behaviour) pair, and per behaviour. Reliability diagram: [{svg_name}]({svg_name}).", ""]
    per_row = cal["rows"]
    metrics = {"attitude ECE": {k: v.get("attitude_ece") for k, v in per_row.items()},
               "attitude turns": {k: v["attitude_turns"] for k, v in per_row.items()},
               "behaviours ECE": {k: v.get("behaviours_ece") for k, v in per_row.items()},
               "behaviour turns": {k: v["behaviour_turns"] for k, v in per_row.items()}}
    for l in BEHAVIOURS:
        metrics[f"ECE {l}"] = {k: v.get("per_behaviour", {}).get(l) for k, v in per_row.items()}
    lines += _wide("measure", metrics, lambda v: str(v) if isinstance(v, int) else _num(v))
    lines += ["", "## 3. The `uncertain` flag", "",
              "Review rate: the share of classified turns the model flags as uncertain (a person would check "
              "them). Wrong caught: the share of wrongly labelled turns (attitude not the gold one, or the set of "
              "behaviours not exactly the gold set) that are among the flagged ones. Flagged wrong: the share of "
              "flagged turns that are wrong. Lift over random: wrong caught / review rate (flagging the same share "
              "of turns at random scores 1).", ""]
    unc = results["uncertain"]["rows"]
    measures, lifts = {}, {}
    for task in ("all", "attitude", "behaviours"):
        for key, label in (("turns", "turns"), ("error_rate", "error rate"), ("review_rate", "review rate"),
                           ("wrong_caught", "wrong caught"), ("flagged_wrong", "flagged wrong")):
            measures[f"{task}: {label}"] = {k: v[task][key] for k, v in unc.items()}
        lifts[f"{task}: lift over random"] = {k: v[task].get("lift_over_random") for k, v in unc.items()}
    lines += _wide("turns", measures, lambda v: str(v) if isinstance(v, int) else _pct(v))
    lines += [""] + _wide("ratio", lifts, lambda v: "–" if v is None else f"{v:.2f}")
    lines += ["", "## 4. Cross-language consistency and contrast sets", ""]
    par = results.get("parallel")
    if par:
        langs = par["languages"]
        lines += [f"Parallel set: the same conversation written in {', '.join(langs)}; its findings agree when the "
                  "set of finding codes is the same in every language (target "
                  f"{_pct(results['targets']['parallel_agreement'])}). 'with majority': the share where that "
                  "language's findings equal the most common set of the conversation's versions.", ""]
        rows = par["rows"]
        measures = {"conversations": {k: v["n"] for k, v in rows.items()},
                    "findings agree": {k: v["findings_agree"] for k, v in rows.items()},
                    "score agrees": {k: v["score_agree"] for k, v in rows.items()},
                    "mean score spread (max - min)": {k: v["mean_score_spread"] for k, v in rows.items()}}
        for l in langs:
            measures[f"{l} with majority"] = {k: v[f"{l}_with_majority"] for k, v in rows.items()}
        lines += _wide("measure", measures,
                       lambda v: str(v) if isinstance(v, int) else (f"{v}" if isinstance(v, float) and v > 1 else _pct(v)))
        if par["incomplete"]:
            lines += ["", f"Left out (not in every language): {', '.join(par['incomplete'])}."]
    else:
        lines.append("No parallel set found (--eval-dir/parallel/*.jsonl).")
    con = results.get("contrast")
    if con:
        lines += ["", "Contrast sets: minimal pairs that differ in one thing. An item is right when, on its turn, each "
                  "label the pair differs in is predicted exactly where the gold labels have it; 'exact': the turn's "
                  "whole label set is gold; 'findings as gold': the findings the agent is told are those of the gold labels; "
                  "'pairs': both items of a pair right.", ""]
        lines += _wide("type", {t: {k: v for k, v in r.items() if k in ("all", *LANGUAGES)}
                                for t, r in con["per_type"].items()}, _pct)
        lines += ["", "| type | items | right | exact | findings as gold | pairs both right |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {t} | {r['n']} | {_pct(r['all'])} | {_pct(r['exact'])} | {_pct(r['findings'])} | "
                  f"{_pct(r['pairs_both_right'])} |" for t, r in con["per_type"].items()]
        lines += [""] + _wide("items", {"n": {k: v["n"] for k, v in con["rows"].items()},
                                        "right": {k: v["accuracy"] for k, v in con["rows"].items()},
                                        "exact": {k: v["exact"] for k, v in con["rows"].items()},
                                        "findings as gold": {k: v["findings"] for k, v in con["rows"].items()}},
                              lambda v: str(v) if isinstance(v, int) else _pct(v))
    else:
        lines += ["", "No contrast sets found (--eval-dir/contrast/*.jsonl)."]
    return "\n".join(lines) + "\n"


def card_summary(results: dict[str, Any], diagram_path: str = "") -> dict[str, Any]:
    """The figures a model card shows (``metadata.json["robustness"]``; card.py renders them)."""
    out: dict[str, Any] = {"split": results["split"], "conversations": results["conversations"],
                           "command": results.get("command", ""), "diagram": diagram_path,
                           "flips": {s: v["rows"]["all"] for s, v in results["invariance"].items() if v["rows"]}}
    cal = results["calibration"]["rows"]["all"]
    out["ece"] = {"bins": results["calibration"]["bins"], "attitude": cal.get("attitude_ece"),
                  "behaviours": cal.get("behaviours_ece")}
    unc = results["uncertain"]["rows"]["all"]["all"]
    out["uncertain"] = {k: unc[k] for k in ("review_rate", "wrong_caught", "lift_over_random", "error_rate")}
    if "parallel" in results:
        out["parallel_agreement"] = {"n": results["parallel"]["rows"]["all"]["n"],
                                     "findings_agree": results["parallel"]["rows"]["all"]["findings_agree"]}
    if "contrast" in results:
        out["contrast"] = results["contrast"]["rows"]["all"]
    return out


def save_to_model(results: dict[str, Any], model: Path, diagram_path: str) -> None:
    """Store :func:`card_summary` in the model's metadata and rewrite its card."""
    from .card import model_card

    meta = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
    meta["robustness"] = card_summary(results, diagram_path)
    (model / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    card = model_card(meta)
    if meta.get("finetune"):  # a fine-tuned model's card has its encoder line and fine-tuning section
        from .finetune.export import card as finetune_card

        card = finetune_card(meta, card)
    (model / "README.md").write_text(card + kept_by_hand(model / "README.md"), encoding="utf-8")


HAND_MARK = "(added by hand"


def kept_by_hand(card_path: Path) -> str:
    """The card's sections written by hand (from the first heading that says "(added by hand"), which a rewrite
    of the generated card keeps; empty when there are none."""
    if not card_path.is_file():
        return ""
    lines = card_path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("#") and HAND_MARK in line:
            return "\n" + "".join(lines[i:])
    return ""


def write_report(results: dict[str, Any], svg: str, out_dir: Path, stem: str = "robustness") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    svg_path = out_dir / f"{stem}_reliability.svg"
    md, js = out_dir / f"{stem}.md", out_dir / f"{stem}.json"
    svg_path.write_text(svg, encoding="utf-8")
    js.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    md.write_text(markdown(results, svg_path.name), encoding="utf-8")
    return [md, js, svg_path]
