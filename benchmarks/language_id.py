"""Language identification accuracy on the annotated corpus: each turn alone vs in its conversation.

The corpus's languages are the annotators' (conversation language, or a turn's own for mixed
conversations); the detector was not tuned on it. Run:
    .venv/bin/python benchmarks/language_id.py [data/annotated/conversations]
"""
from __future__ import annotations

import sys
from dataclasses import replace
from collections import defaultdict

from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.corpus import load_corpus
from samtaleanalyse.text.language import identify, turn_distributions


def main(root: str) -> None:
    convs = load_corpus(root)
    alone: dict[tuple[str, str], list[bool]] = defaultdict(list)
    ctx: dict[tuple[str, str], list[bool]] = defaultdict(list)
    conv_ok: dict[str, list[bool]] = defaultdict(list)
    for c in convs:
        conv = c.to_conversation()
        conv = conv.with_updates(language=None, turns=tuple(replace(t, language=None) for t in conv.turns))
        result = identify(conv)
        # The conversation's language is defined as the agent's (the coaching language): gold is the
        # majority of the agent turns' labelled languages, the annotated conversation language on a tie.
        agent = [lt.turn.language or c.language for lt in c.turns if lt.turn.role == "agent"]
        top = max(set(agent), key=lambda l: (agent.count(l), l == c.language))
        conv_ok[c.language].append(result.language == top)
        scored = [lt for lt in c.turns if lt.turn.role != "system"]
        dists = turn_distributions([lt.turn.text for lt in scored])
        for lt, dist, rt in zip(scored, dists, [t for t in result.turns if t.role != "system"]):
            gold = lt.turn.language or c.language
            size = "1-4 words" if len(lt.turn.text.split()) <= 4 else "5+ words"
            alone[(gold, size)].append(max(dist, key=lambda k: dist[k]) == gold)
            ctx[(gold, size)].append(rt.language == gold)
    print("| language | turns 1-4 words | alone | in conversation | turns 5+ words | alone | in conversation | conversations right (agent's language) |")
    print("|---|---|---|---|---|---|---|---|")
    for lang in LANGUAGES:
        row = [lang]
        for size in ("1-4 words", "5+ words"):
            a, b = alone[(lang, size)], ctx[(lang, size)]
            row += [str(len(a)), f"{sum(a) / max(1, len(a)):.3f}", f"{sum(b) / max(1, len(b)):.3f}"]
        row.append(f"{sum(conv_ok[lang])}/{len(conv_ok[lang])}")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/annotated/conversations")
