"""Turn examples as token ids, packed once, for fine-tuning.

A *pack* holds every distinct text of the examples (turns and their contexts), tokenised once
with the encoder's prefix, and per example: which text, which context (-1: none), the role, the
labels, the split and the language. It is plain numpy (``save``/``load`` as ``.npz``), so a
fine-tuning job can run on a machine that has torch but neither samtaleanalyse nor the corpus.

As in the pipeline (``classify.features``), turn and context are encoded separately, and a turn
without a previous turn of the other party gets a zero context vector.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from ..data import Example

SPLITS = ("train", "dev", "test")
ROLES = ("customer", "agent")


@dataclass
class Pack:
    texts: list[str]              # distinct texts, without prefix
    ids: list[np.ndarray]         # token ids per text (prefix and special tokens included)
    ex_text: np.ndarray           # (n,) index into texts
    ex_ctx: np.ndarray            # (n,) index into texts, -1 without context
    ex_role: np.ndarray           # (n,) 0 customer, 1 agent
    ex_att: np.ndarray            # (n,) attitude index, -1 for agent turns
    ex_beh: np.ndarray            # (n, n_behaviours) 0/1, zeros for customer turns
    ex_split: np.ndarray          # (n,) index into SPLITS
    ex_lang: np.ndarray           # (n,) index into languages
    attitudes: tuple[str, ...]
    behaviours: tuple[str, ...]
    languages: tuple[str, ...]
    # (n,) each row's weight in the loss, from its origin (``[row_weights]``); ones where none was given
    ex_weight: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def __post_init__(self) -> None:
        if len(self.ex_weight) != len(self.ex_text):
            if len(self.ex_weight):
                raise ValueError(f"ex_weight has {len(self.ex_weight)} rows for {len(self.ex_text)} examples")
            self.ex_weight = np.ones(len(self.ex_text), dtype=np.float32)
        if not (np.isfinite(self.ex_weight).all() and (self.ex_weight > 0).all()):
            raise ValueError("ex_weight must be finite and above 0")

    def __len__(self) -> int:
        return len(self.ex_text)

    def rows(self, split: str, role: str | None = None) -> np.ndarray:
        mask = self.ex_split == SPLITS.index(split)
        if role is not None:
            mask &= self.ex_role == ROLES.index(role)
        return np.flatnonzero(mask)

    def remap(self, mapping: np.ndarray) -> "Pack":
        """The same pack with token ids renumbered (``mapping[old_id] -> new_id``), for a pruned vocabulary."""
        return Pack(self.texts, [mapping[i] for i in self.ids], self.ex_text, self.ex_ctx, self.ex_role, self.ex_att,
                    self.ex_beh, self.ex_split, self.ex_lang, self.attitudes, self.behaviours, self.languages,
                    self.ex_weight)

    def save(self, path: str | Path) -> None:
        lengths = np.array([len(i) for i in self.ids], dtype=np.int64)
        np.savez_compressed(
            path, texts=np.array(self.texts, dtype=str), flat_ids=np.concatenate(self.ids).astype(np.int32),
            lengths=lengths, ex_text=self.ex_text, ex_ctx=self.ex_ctx, ex_role=self.ex_role, ex_att=self.ex_att,
            ex_beh=self.ex_beh, ex_split=self.ex_split, ex_lang=self.ex_lang,
            attitudes=np.array(self.attitudes, dtype=str), behaviours=np.array(self.behaviours, dtype=str),
            languages=np.array(self.languages, dtype=str), ex_weight=self.ex_weight.astype(np.float32))

    @classmethod
    def load(cls, path: str | Path) -> "Pack":
        with np.load(path, allow_pickle=False) as d:
            offsets = np.concatenate([[0], np.cumsum(d["lengths"])])
            flat = d["flat_ids"].astype(np.int64)
            ids = [flat[offsets[i]:offsets[i + 1]] for i in range(len(d["lengths"]))]
            # a pack saved before row weights existed has none: every row weighs 1
            weight = d["ex_weight"].astype(np.float32) if "ex_weight" in d.files else np.zeros(0, dtype=np.float32)
            return cls(d["texts"].tolist(), ids, d["ex_text"], d["ex_ctx"], d["ex_role"], d["ex_att"], d["ex_beh"],
                       d["ex_split"], d["ex_lang"], tuple(d["attitudes"].tolist()), tuple(d["behaviours"].tolist()),
                       tuple(d["languages"].tolist()), weight)


def hf_tokenize(tokenizer, prefix: str, max_length: int) -> Callable[[Sequence[str]], list[np.ndarray]]:  # type: ignore[no-untyped-def]
    """A batch tokenising function from a transformers tokenizer (special tokens added, truncated)."""
    def run(texts: Sequence[str]) -> list[np.ndarray]:
        enc = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)
        return [np.asarray(i, dtype=np.int64) for i in enc["input_ids"]]
    return run


def build_pack(examples: Sequence["Example"], tokenize: Callable[[Sequence[str]], list[np.ndarray]],
               attitudes: Sequence[str] | None = None, behaviours: Sequence[str] | None = None,
               row_weights: Mapping[str, float] | None = None) -> Pack:
    """Tokenise every distinct text once; labels as indices (samtaleanalyse's label order by default); each row
    weighs ``row_weights[its origin]`` in the loss (1 where the origin is not named)."""
    if attitudes is None or behaviours is None:
        from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

        attitudes, behaviours = attitudes or ATTITUDES, behaviours or BEHAVIOURS
    texts = list(dict.fromkeys([e.text for e in examples] + [e.context for e in examples if e.context]))
    index = {t: i for i, t in enumerate(texts)}
    ids = tokenize(texts) if texts else []
    languages = tuple(sorted({e.language for e in examples}))
    n = len(examples)
    beh = np.zeros((n, len(behaviours)), dtype=np.uint8)
    for r, e in enumerate(examples):
        for b in e.behaviours:
            if b in behaviours:
                beh[r, list(behaviours).index(b)] = 1
    return Pack(
        texts=texts, ids=list(ids),
        ex_text=np.array([index[e.text] for e in examples], dtype=np.int64),
        ex_ctx=np.array([index[e.context] if e.context else -1 for e in examples], dtype=np.int64),
        ex_role=np.array([ROLES.index(e.role) for e in examples], dtype=np.int64),
        ex_att=np.array([list(attitudes).index(e.attitude) if e.role == "customer" and e.attitude else -1
                         for e in examples], dtype=np.int64),
        ex_beh=beh,
        ex_split=np.array([SPLITS.index(e.split) for e in examples], dtype=np.int64),
        ex_lang=np.array([languages.index(e.language) for e in examples], dtype=np.int64),
        attitudes=tuple(attitudes), behaviours=tuple(behaviours), languages=languages,
        ex_weight=np.array([float((row_weights or {}).get(e.origin, 1.0)) for e in examples], dtype=np.float32))
