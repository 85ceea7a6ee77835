"""Translate-train copies of corpus train conversations (issue 13: the same conversation should get the same
findings in nb, nn, da, sv and en).

``data/annotated/translated/<language>.jsonl`` holds only texts: one line per translated conversation,
``{"source_id": "nb-a-025", "to": "sv", "texts": [...]}``, one text per turn of the source conversation. The
labels are read from the source conversation when the copies are built, so a reviewed label reaches its
translations too, and a translation can never carry labels of its own. A source must be in the train split: a
copy of a dev or test conversation would leak what the model is judged on into what it learns from.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from samtaleanalyse.conversation import LANGUAGES, Turn
from samtaleanalyse.corpus import LabelledConversation, LabelledTurn, load_corpus

TRANSLATED_DIR = Path(__file__).resolve().parents[2] / "data" / "annotated" / "translated"


class TranslationError(ValueError):
    """A line of a translation file that cannot become a labelled conversation (names the file and line)."""


def _copy(source: LabelledConversation, target: str, texts: Sequence[str], path: Path, line: int) -> LabelledConversation:
    where = f"{path}, line {line}"
    if source.split != "train":
        raise TranslationError(f"{where}: source {source.id} is in the {source.split} split; only train "
                               "conversations may be translated for training")
    if target == source.language:
        raise TranslationError(f"{where}: {source.id} is already {target}")
    if len(texts) != len(source.turns):
        raise TranslationError(f"{where}: {len(texts)} texts for the {len(source.turns)} turns of {source.id}")
    for lt, text in zip(source.turns, texts):
        if not isinstance(text, str):
            raise TranslationError(f"{where}: turn {lt.turn.index} of {source.id}: text must be a string")
    kept = sum(lt.turn.text.strip() == text.strip() for lt, text in zip(source.turns, texts))
    if kept * 2 > len(texts):
        # a source already in the target language for the most part: a copy would only count its turns twice
        raise TranslationError(f"{where}: {kept} of the {len(texts)} turns of {source.id} are the source's own text")
    turns = []
    for lt, text in zip(source.turns, texts):
        if lt.turn.text.strip() and not text.strip():
            raise TranslationError(f"{where}: turn {lt.turn.index} of {source.id} is empty in the translation")
        turn = Turn(index=lt.turn.index, role=lt.turn.role, text=text, speaker=lt.turn.speaker)
        turns.append(LabelledTurn(turn=turn, attitude=lt.attitude, behaviours=lt.behaviours))
    return LabelledConversation(id=f"{source.id}~{target}", language=target, channel=source.channel,
                                domain=source.domain, turns=tuple(turns), split="train", augmented=True,
                                file=str(path), line=line,
                                extra=(("translated_from", source.id),))


def load_translated(corpus: str | Path, folder: str | Path | None = None) -> list[LabelledConversation]:
    """The translated copies in ``folder`` (default ``data/annotated/translated``), labelled from ``corpus``;
    a broken line raises ``TranslationError`` naming its file and line."""
    by_id = {c.id: c for c in load_corpus(corpus)}
    out: list[LabelledConversation] = []
    seen: set[tuple[str, str]] = set()
    for path in sorted(Path(folder or TRANSLATED_DIR).glob("*.jsonl")):
        with path.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                where = f"{path}, line {n}"
                try:
                    line = raw.decode("utf-8")
                    if not line.strip():
                        continue
                    rec = json.loads(line)
                    source_id, target, texts = rec["source_id"], rec["to"], rec["texts"]
                except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise TranslationError(f"{where}: not a UTF-8 {{source_id, to, texts}} record ({exc})") from None
                if not isinstance(source_id, str):
                    raise TranslationError(f"{where}: source_id must be a string")
                if target not in LANGUAGES:
                    raise TranslationError(f"{where}: 'to' must be one of {', '.join(LANGUAGES)}, not {target!r}")
                if path.stem in LANGUAGES and path.stem != target:
                    raise TranslationError(f"{where}: a {target} translation in {path.name}")
                if source_id not in by_id:
                    raise TranslationError(f"{where}: no conversation {source_id!r} in {corpus}")
                if (source_id, target) in seen:
                    raise TranslationError(f"{where}: {source_id} translated to {target} twice")
                seen.add((source_id, target))
                if not isinstance(texts, list):
                    raise TranslationError(f"{where}: texts must be a list")
                out.append(_copy(by_id[source_id], target, texts, path, n))
    return out


def draw_sources(corpus: str | Path, seed: int, per_channel: dict[str, int] | None = None,
                 exclude: Sequence[str] = ()) -> list[LabelledConversation]:
    """Train conversations to translate next: per language, ``per_channel`` of each channel (default 3 chats,
    2 calls, 1 e-mail), drawn with ``seed`` from those not in ``exclude`` (the sources already translated).
    The 0.8.0 copies are two draws: seed 2026, then seed 2027 excluding the first draw."""
    import random

    want = per_channel or {"chat": 3, "call": 2, "email": 1}
    rng = random.Random(seed)
    skip = set(exclude)
    pool = sorted((c for c in load_corpus(corpus) if c.split == "train" and c.id not in skip), key=lambda c: c.id)
    out: list[LabelledConversation] = []
    for language in LANGUAGES:
        for channel, n in want.items():
            out += rng.sample([c for c in pool if c.language == language and c.channel == channel], n)
    return out


def worklist(sources: Sequence[LabelledConversation], target: str) -> list[dict[str, object]]:
    """What a translator of ``target`` gets: each source's turns with their labels to keep (read only)."""
    return [{"source_id": c.id, "from": c.language, "to": target, "channel": c.channel, "domain": c.domain,
             "turns": [{"i": lt.turn.index, "speaker": lt.turn.role,
                        "labels": lt.attitude if lt.turn.role == "customer" else
                        list(lt.behaviours) if lt.turn.role == "agent" else None,
                        "text": lt.turn.text} for lt in c.turns]}
            for c in sources if c.language != target]
