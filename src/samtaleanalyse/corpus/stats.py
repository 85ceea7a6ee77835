"""The tables of the data card: counts per language, channel, domain, split and label."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

from ..conversation import LANGUAGES
from ..labels import ATTITUDES, BEHAVIOURS, SPLITS
from .model import LabelledConversation

MIN_CONVERSATIONS = {"nb": 100, "da": 100, "sv": 100, "en": 100, "nn": 40}
MIN_ATTITUDE_TURNS = 40
MIN_BEHAVIOUR_TURNS = 25


def corpus_stats(convs: Sequence[LabelledConversation]) -> dict[str, dict[str, dict[str, int]]]:
    """Nested counts: table name -> row -> column -> count."""
    tables: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    conv_rows: dict[str, Counter[str]] = defaultdict(Counter)
    att: dict[str, Counter[str]] = defaultdict(Counter)
    beh: dict[str, Counter[str]] = defaultdict(Counter)
    domains: dict[str, Counter[str]] = defaultdict(Counter)
    for c in convs:
        row = conv_rows[c.language]
        row["conversations"] += 1
        row[c.channel] += 1
        row[c.split or "unsplit"] += 1
        row["turns"] += len(c.turns)
        row["augmented"] += int(c.augmented)
        domains[c.domain][c.language] += 1
        for lt in c.turns:
            if lt.turn.role == "customer" and lt.attitude:
                att[c.language][lt.attitude] += 1
            for b in lt.behaviours:
                beh[c.language][b] += 1
    langs = [l for l in LANGUAGES if l in conv_rows]
    cols = ["conversations", "chat", "call", "email", *SPLITS, "turns", "augmented"]
    for lang in langs:
        tables["conversations"][lang] = {k: conv_rows[lang][k] for k in cols}
        tables["attitudes"][lang] = {a: att[lang][a] for a in ATTITUDES}
        tables["behaviours"][lang] = {b: beh[lang][b] for b in BEHAVIOURS}
    for name in ("conversations", "attitudes", "behaviours"):
        rows = tables[name]
        if rows:
            keys = next(iter(rows.values())).keys()
            rows["all"] = {k: sum(r[k] for r in rows.values()) for k in keys}
    for domain in sorted(domains):
        tables["domains"][domain] = {**{l: domains[domain][l] for l in langs}, "all": sum(domains[domain].values())}
    return {k: {r: dict(v) for r, v in t.items()} for k, t in tables.items()}


def shortfalls(stats: dict[str, dict[str, dict[str, int]]]) -> list[str]:
    """Where the corpus is below the counts the issue asks for."""
    out = []
    for lang, minimum in MIN_CONVERSATIONS.items():
        have = stats["conversations"].get(lang, {}).get("conversations", 0)
        if have < minimum:
            out.append(f"{lang}: {have} conversations, need {minimum}")
    for lang in MIN_CONVERSATIONS:
        for a, n in stats["attitudes"].get(lang, {}).items():
            if n < MIN_ATTITUDE_TURNS:
                out.append(f"{lang}: {n} customer turns labelled {a}, need {MIN_ATTITUDE_TURNS}")
        for b, n in stats["behaviours"].get(lang, {}).items():
            if n < MIN_BEHAVIOUR_TURNS:
                out.append(f"{lang}: {n} agent turns labelled {b}, need {MIN_BEHAVIOUR_TURNS}")
    if len(stats.get("domains", {})) < 10:
        out.append(f"{len(stats.get('domains', {}))} domains, need 10")
    return out


def format_markdown(stats: dict[str, dict[str, dict[str, int]]]) -> str:
    parts = []
    for name, rows in stats.items():
        if not rows:
            continue
        cols = list(next(iter(rows.values())).keys())
        parts.append(f"### {name}\n")
        parts.append("| " + " | ".join([""] + cols) + " |")
        parts.append("|" + "---|" * (len(cols) + 1))
        for row, vals in rows.items():
            parts.append("| " + " | ".join([f"**{row}**" if row == "all" else row] + [str(vals[c]) for c in cols]) + " |")
        parts.append("")
    return "\n".join(parts)
