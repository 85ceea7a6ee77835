"""The annotated corpus as turn examples, loaded through `datasets` from local files only."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from samtaleanalyse.classify.features import TurnInput, turn_inputs
from samtaleanalyse.corpus import parse_record
from samtaleanalyse.corpus.model import LabelledConversation


ORIGINS = ("corpus", "real_text", "augmented")


def origin_of(c: LabelledConversation) -> str:
    """``real_text`` for a labelled real thread (Twitter), ``augmented`` for a made copy (translated, swapped,
    speech-noised), ``corpus`` for a conversation of the corpus as written."""
    from .external.ibm_twitter import ID_PREFIX

    if c.augmented:
        return "augmented"
    return "real_text" if c.id.startswith(ID_PREFIX) else "corpus"


@dataclass(frozen=True)
class Example:
    conversation_id: str
    turn_index: int
    language: str
    split: str
    role: str
    text: str
    context: str
    attitude: str | None
    behaviours: tuple[str, ...]
    position: int = 0
    n_turns: int = 1
    role_position: int = 0
    history: str = ""
    channel: str = "chat"   # of the conversation (chat, call, email): evaluation tables are per channel
    origin: str = "corpus"  # ORIGINS: what the row is, for the heads' per-origin row weights

    def as_input(self) -> TurnInput:
        return TurnInput(self.conversation_id, self.turn_index, self.role, self.text, self.context,
                         position=self.position, n_turns=self.n_turns, role_position=self.role_position,
                         history=self.history)


def load_examples(corpus: str | Path, *, limit_conversations: int | None = None) -> list[Example]:
    """Turn examples of every labelled conversation; the corpus is read via `datasets` (json builder)
    so that ML engineers can swap in any Hugging Face dataset with the same columns."""
    import datasets

    files = sorted(str(p) for p in Path(corpus).glob("*.jsonl")) if Path(corpus).is_dir() else [str(corpus)]
    if not files:
        raise FileNotFoundError(f"no *.jsonl files in {corpus}")
    ds = datasets.load_dataset("json", data_files=files, split="train")
    if limit_conversations:
        ds = ds.select(range(min(limit_conversations, len(ds))))
    conversations = []
    for pos, row in enumerate(ds):
        # datasets fills absent keys with None (attitude on agent turns, ...); parse_record accepts that.
        conversations.append(parse_record(row, file=f"{corpus}", line=pos + 1))
    return examples_of(conversations)


def examples_of(conversations: Iterable[LabelledConversation]) -> list[Example]:
    """The turn examples of labelled conversations (every split); a conversation must have a split, and an
    augmented one must be in train."""
    examples: list[Example] = []
    for c in conversations:
        if c.split is None:
            raise ValueError(f"{c.file}, line {c.line}: conversation {c.id} has no split; run `samtaleanalyse data split`")
        if c.augmented and c.split != "train":
            raise ValueError(f"{c.file}, line {c.line}: augmented conversation {c.id} outside train")
        labels = {lt.turn.index: lt for lt in c.turns}
        origin = origin_of(c)
        for inp in turn_inputs(c.to_conversation()):
            lt = labels[inp.turn_index]
            examples.append(Example(c.id, inp.turn_index, lt.turn.language or c.language, c.split, inp.role,
                                    inp.text, inp.context, lt.attitude, tuple(lt.behaviours), position=inp.position,
                                    n_turns=inp.n_turns, role_position=inp.role_position, history=inp.history,
                                    channel=c.channel, origin=origin))
    return examples
